"""The README's Quick start, followed as a newcomer would: its commands run (``make setup``,
then ``make run``) with the answers typed in, against the Bot API emulator and a Pollinations
fake, end with a picture for ``/imagine a lighthouse at dawn``."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.pollinations import FakePollinations
from tests.fakes.telegram import BotApiEmulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "987654321:TESTx9QuickStartSecretHalfNeverPrinted"
USER = 4242
POLLINATIONS_CHOICE = "3"  # the third key setup offers


def quick_start_commands() -> list[str]:
    """The shell lines of the Quick start's first code block."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the Quick start shows no commands"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def what_make_runs(target: str) -> list[str]:
    """The command ``make <target>`` ends with, as ``python -m bot`` arguments."""
    # As a newcomer's shell runs it: not inside the test command's own make.
    outside_make = {
        name: value
        for name, value in os.environ.items()
        if name not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}
    }
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=ROOT,
        env=outside_make,
        capture_output=True,
        text=True,
        check=True,
    )
    last = dry.stdout.strip().splitlines()[-1].split()
    assert last[0].endswith("/python") and last[1:3] == ["-m", "bot"], dry.stdout
    return last[3:]


@pytest.fixture
async def tg() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator  # type: ignore[misc]


@pytest.fixture
async def pollinations() -> AsyncIterator[FakePollinations]:
    async with FakePollinations() as fake:
        yield fake  # type: ignore[misc]


async def test_the_quick_start_ends_with_a_picture(
    tmp_path: Path, tg: BotApiEmulator, pollinations: FakePollinations
) -> None:
    assert quick_start_commands() == ["make setup", "make run"]
    setup_args, run_args = what_make_runs("setup"), what_make_runs("run")
    assert setup_args == ["setup"] and run_args == []
    # Only what points the bot at the fakes instead of Telegram and Pollinations.
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_API_URL": tg.url,
        "POLLINATIONS_API_URL": pollinations.url,
    }

    setup = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *setup_args,
        cwd=tmp_path, env=environment,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    answers = f"{TOKEN}\n{POLLINATIONS_CHOICE}\n{pollinations.api_key}\n"
    said, _ = await asyncio.wait_for(setup.communicate(answers.encode()), timeout=120)
    assert setup.returncode == 0, said.decode()
    assert (tmp_path / ".env").is_file()

    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *run_args,
        cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        command = tg.send_text(USER, "/imagine a lighthouse at dawn")
        photo = await tg.wait_for_bot_message(
            USER,
            lambda m: m.kind == "photo" and m.reply_to == command["message_id"],
            timeout=60,
        )
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGINT)
        _, logged = await asyncio.wait_for(bot.communicate(), timeout=60)
    assert bot.returncode == 0, logged.decode()
    assert photo.caption and "pollinations/flux" in photo.caption
    assert any(get.prompt == "a lighthouse at dawn" for get in pollinations.image_gets)
    assert TOKEN.split(":")[1] not in said.decode() + logged.decode()
