"""``python -m bot`` as a child process against the fakes, for tests that kill or signal it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.e2e.conftest import World

ROOT = Path(__file__).resolve().parents[2]


def bot_env(world: World, **settings: str) -> dict[str, str]:
    """The environment an operator would set, aimed at the fakes (names upper-cased)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": world.tg.token,
        "TELEGRAM_API_URL": world.tg.url,
        "DATA_DIR": str(world.data_dir),
        "ALLOW_PRIVATE_URLS": "true",
        "POLL_INTERVAL": "0.01",
        "STATUS_EDIT_INTERVAL": "0.05",
        "CHECK_DEFAULTS": "false",
        **{key.upper(): value for key, value in world.arta.overrides.items()},
        **{key.upper(): value for key, value in settings.items()},
    }


async def start_bot(world: World, **settings: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=world.data_dir,
        env=bot_env(world, **settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(process: asyncio.subprocess.Process, sig: int | None = signal.SIGINT) -> str:
    """Sends ``sig`` (SIGKILL for a crash; None: just wait for the exit) and returns what the
    process logged."""
    if process.returncode is None and sig is not None:
        process.send_signal(sig)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return stderr.decode()


@asynccontextmanager
async def bot_process(world: World, **settings: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot running as a process inside the block; stopped with Ctrl+C (SIGINT) after it
    unless the block ended it already."""
    process = await start_bot(world, **settings)
    try:
        yield process
    finally:
        await stop(process)
