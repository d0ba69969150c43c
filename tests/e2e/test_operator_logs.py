"""What an operator reads in the logs: one line per job saying how it ended (failures at
WARNING with the error's code, the provider, the stage reached and the duration), LOG_FORMAT=json
for log shippers, and prompts only with LOG_PROMPTS=true."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot import logs
from tests.e2e.conftest import World

USER = 601
PROMPT = "a secret garden of glass"


@pytest.fixture
def capture() -> Iterator[Any]:
    """Sets up the bot's logging as ``python -m bot`` does (text or JSON) into a buffer."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()

    def setup(fmt: str = "text", level: str = "INFO") -> io.StringIO:
        logs.setup(level, stream, fmt)
        return stream

    yield setup
    root.handlers[:], level = saved
    root.setLevel(level)


def job_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " job=" in line or '"job":' in line]


async def test_a_job_that_fails_upstream_logs_one_warning_with_code_provider_stage(
    world: World, capture: Any
) -> None:
    stream = capture()
    world.arta.fail_next_job("FAILED")
    async with world.bot():
        command = world.tg.send_text(USER, f"/imagine {PROMPT}")
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: (status.text or "").startswith("⚠️"))
        await world.tg.wait_for(lambda: job_lines(stream.getvalue()))
    [line] = job_lines(stream.getvalue())
    assert " WARNING bot.jobs: " in line
    assert "kind=imagine chat=601 model=arta/flux provider=ARTA" in line
    assert "outcome=failed" in line
    assert " code=" in line and "code=-" not in line
    assert " stage=" in line and "stage=-" not in line
    assert " duration=" in line
    assert PROMPT not in stream.getvalue()  # not at INFO (nor anywhere at this level)


async def test_json_lines_carry_the_job_fields(world: World, capture: Any) -> None:
    stream = capture("json")
    world.arta.fail_next_job("FAILED")
    async with world.bot(log_format="json"):
        failing = world.tg.send_text(USER, f"/imagine {PROMPT}")
        status = await world.status_of(USER, failing)
        await world.tg.wait_for(lambda: (status.text or "").startswith("⚠️"))
        drawn = world.tg.send_text(USER, "/imagine a fox")
        await world.photos_for(USER, drawn, 1)
        await world.tg.wait_for(lambda: len(job_lines(stream.getvalue())) == 2)
    records = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    jobs = [r for r in records if "job" in r]
    failed, delivered = sorted(jobs, key=lambda r: r["job"])
    fields = {"job", "chat", "model", "provider", "outcome", "code", "stage", "duration"}
    assert fields <= set(failed) and fields <= set(delivered)
    assert failed["level"] == "WARNING" and failed["outcome"] == "failed"
    assert failed["provider"] == "ARTA" and failed["code"] and failed["stage"]
    assert failed["chat"] == USER and failed["model"] == "arta/flux"
    assert isinstance(failed["duration"], float)
    assert delivered["level"] == "INFO" and delivered["outcome"] == "delivered"
    assert delivered["code"] is None
    assert world.tg.token not in stream.getvalue()
    assert PROMPT not in stream.getvalue()


async def test_prompts_appear_at_info_only_with_log_prompts(world: World, capture: Any) -> None:
    stream = capture()
    async with world.bot():
        command = world.tg.send_text(USER, f"/imagine {PROMPT}")
        await world.photos_for(USER, command, 1)
        await world.tg.wait_for(lambda: job_lines(stream.getvalue()))
    assert PROMPT not in stream.getvalue()
    async with world.bot(log_prompts=True):
        command = world.tg.send_text(USER, f"/imagine {PROMPT} again")
        await world.photos_for(USER, command, 1)
        await world.tg.wait_for(lambda: len(job_lines(stream.getvalue())) == 2)
    line = job_lines(stream.getvalue())[1]
    assert " INFO " in line and f'prompt="{PROMPT} again"' in line


def test_json_output_is_redacted_too() -> None:
    token = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"GET https://api.telegram.org/bot{token}/getMe")
        except RuntimeError:
            logger.exception("calling %s", f"bot{token}", extra={"reason": token})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    record = json.loads(stream.getvalue())
    assert token not in stream.getvalue() and token.split(":")[1] not in stream.getvalue()
    assert record["message"] == "calling bot<token>"
    assert record["reason"] == "<token>" and "<token>" in record["exception"]


async def test_a_job_that_moved_on_to_a_fallback_logs_the_provider_that_drew(
    world: World, capture: Any
) -> None:
    stream = capture()
    world.arta.fail("generate", "500")
    async with world.bot(fallback_image_models="auto"):
        command = world.tg.send_text(USER, "/imagine a fox")
        await world.photos_for(USER, command, 1)
        await world.tg.wait_for(lambda: job_lines(stream.getvalue()))
    [line] = job_lines(stream.getvalue())
    assert "model=arta/flux provider=Prodia" in line
    assert "outcome=delivered" in line
    assert "stage=delivered" in line
