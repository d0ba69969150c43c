"""``python -m bot`` as an operator runs it: a real process, long polling, Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import World
from tests.e2e.process import bot_process, start_bot, stop

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
    first = log.splitlines()[:4]
    assert "starting the bot" in first[0]
    assert any("receiving updates by long polling" in line for line in first), first
    assert any("default image model arta/flux" in line for line in log.splitlines()), log
    assert tg.token not in log and tg.token.split(":")[1] not in log
    assert (world.data_dir / "bot.sqlite3").exists()


async def test_a_second_instance_on_the_same_data_dir_says_so_and_exits(world: World) -> None:
    async with bot_process(world) as first:
        command = world.tg.send_text(42, "/imagine a fox")
        await world.photos_for(42, command, 1)
        second = await start_bot(world)
        log = await stop(second, None)
        assert second.returncode == 2
        assert "already running" in log and str(first.pid) in log
        assert len(log.strip().splitlines()) == 1
        assert first.returncode is None  # the first one carries on


@pytest.mark.parametrize(
    ("damage", "expected"),
    [("garbage", "is damaged"), ("newer", "newer version"), ("unwritable", "cannot be")],
)
async def test_a_database_that_cannot_be_used_stops_the_start_with_one_line(
    world: World, damage: str, expected: str
) -> None:
    path = world.data_dir / "bot.sqlite3"
    if damage == "garbage":
        path.write_bytes(b"\x00garbage" * 512)
    elif damage == "newer":
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA user_version = 99")
    else:
        path.mkdir()  # something that is not a file where the database should be
    process = await start_bot(world)
    log = await stop(process, None)
    assert process.returncode == 2, log
    assert expected in log and "Traceback" not in log
    assert len(log.strip().splitlines()) == 1


async def test_files_the_bot_creates_are_its_owners_alone(world: World) -> None:
    async with bot_process(world):
        command = world.tg.send_text(42, "/imagine a private fox")
        await world.photos_for(42, command, 1)
    for path in [world.data_dir / "bot.sqlite3", world.data_dir / "bot.lock"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((world.data_dir / "outbox").stat().st_mode) == 0o700


async def test_sigterm_lets_a_running_job_finish(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    process = await start_bot(world, SHUTDOWN_GRACE="60")
    command = tg.send_text(42, "/imagine a fox at closing time")
    await tg.wait_for(lambda: arta.job_list, timeout=30)
    process.send_signal(signal.SIGTERM)
    arta.queue_polls = 0  # the upstream finishes during the grace period
    [photo] = await world.photos_for(42, command, 1)
    log = await stop(process, None)
    assert process.returncode == 0, log
    assert photo.caption and photo.caption.startswith("a fox at closing time")
    assert "outcome=delivered" in log
