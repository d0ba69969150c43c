"""``python -m bot`` as an operator runs it: a real process, long polling, Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e.conftest import World

ROOT = Path(__file__).resolve().parents[2]


async def test_the_bot_process_answers_and_stops_cleanly_on_ctrl_c(world: World) -> None:
    tg = world.tg
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.url,
        "DATA_DIR": str(world.data_dir),
        "ALLOW_PRIVATE_URLS": "true",
        **{key.upper(): value for key, value in world.arta.overrides.items()},
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=world.data_dir,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        command = tg.send_text(42, "/imagine a fox from a real process")
        [photo] = await world.photos_for(42, command, 1)
        assert photo.caption and "arta/flux" in photo.caption
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "job=1 kind=imagine chat=42 model=arta/flux" in log
    assert tg.token not in log and tg.token.split(":")[1] not in log
    assert (world.data_dir / "bot.sqlite3").exists()
