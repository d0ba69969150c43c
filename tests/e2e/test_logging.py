"""What operators see in the logs: one line per job, and never the token."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from tests.e2e.conftest import World


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The bot's own logging set-up (as ``python -m bot`` does it), writing to a buffer."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    logs.setup("DEBUG", stream)
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)


async def test_one_line_per_job_and_no_token(world: World, log_output: io.StringIO) -> None:
    world.tg.fail_next("sendPhoto", error_code=400, description="Bad Request: PHOTO_INVALID")
    async with world.bot():
        command = world.tg.send_text(501, "/imagine a fox")
        await world.photos_for(501, command, 1)
        failing = world.tg.send_text(501, "/imagine a fox --model nosuch")
        await world.reply_to(501, failing, lambda m: True)
    output = log_output.getvalue()
    job_lines = [line for line in output.splitlines() if " job=" in line]
    assert len(job_lines) == 1
    assert "kind=imagine chat=501 model=arta/flux provider=ARTA" in job_lines[0]
    assert " INFO " in job_lines[0] and job_lines[0].endswith("outcome=delivered")
    assert "photo_invalid" in output.lower()  # the refused photo is logged, then sent as a file
    assert world.tg.token not in output
    assert world.tg.token.split(":")[1] not in output
