"""``python -m bot setup`` with its answers piped in, against the Bot API emulator and the
OpenAI fake: the token and one key checked live, then ``.env`` written (0600, merged)."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.telegram import BotApiEmulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "987654321:TESTx9SetupTestSecretHalfNeverPrinted_1-x"


@pytest.fixture
async def tg() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator  # type: ignore[misc]


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake  # type: ignore[misc]


async def setup(cwd: Path, answers: str, **environment: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "setup",
        cwd=cwd,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            **environment,
        },
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(answers.encode()), timeout=120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_setup_checks_the_token_and_a_key_then_writes_env(
    tmp_path: Path, tg: BotApiEmulator, openai_fake: FakeOpenAI
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nLOG_LEVEL=DEBUG\nTELEGRAM_BOT_TOKEN=1:old\n")
    env_file.chmod(0o644)
    code, output = await setup(
        tmp_path,
        f"{TOKEN}\n2\n{openai_fake.api_key}\n",
        TELEGRAM_API_URL=tg.url,
        OPENAI_BASE_URL=openai_fake.base_url,
        ALLOW_PRIVATE_URLS="true",
    )
    assert code == 0, output
    assert "@ImagineTestBot" in output
    assert "openai/gpt-image-1: ok" in output and "openai/gpt-4o-mini: ok" in output
    assert TOKEN.split(":")[1] not in output and openai_fake.api_key not in output
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert env_file.read_text().startswith("# mine\nLOG_LEVEL=DEBUG\n")
    assert dotenv_values(env_file) == {
        "LOG_LEVEL": "DEBUG",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "OPENAI_API_KEY": openai_fake.api_key,
        "DEFAULT_IMAGE_MODEL": "openai/gpt-image-1",
        "DEFAULT_VISION_MODEL": "openai/gpt-4o-mini",
        "DEFAULT_EDIT_MODEL": "openai/gpt-image-2",
    }
    assert "openai/gpt-image-2: ok" in output
    assert "Chats will use openai/gpt-image-1, openai/gpt-4o-mini and openai/gpt-image-2" in output
    assert [call.method for call in tg.calls()] == ["getMe"]


async def test_setup_refuses_a_token_telegram_rejects(tmp_path: Path, tg: BotApiEmulator) -> None:
    wrong = "123456789:TESTx9SomeOtherBotsTokenNotThisOne_2-y"
    code, output = await setup(tmp_path, f"{wrong}\n", TELEGRAM_API_URL=tg.url)
    assert code == 2, output
    assert "rejected" in output and ".env is unchanged" in output
    assert wrong.split(":")[1] not in output
    assert not (tmp_path / ".env").exists()


async def test_setup_with_no_provider_key_writes_the_token_only(
    tmp_path: Path, tg: BotApiEmulator
) -> None:
    code, output = await setup(tmp_path, f"{TOKEN}\n\n", TELEGRAM_API_URL=tg.url)
    assert code == 0, output
    assert dotenv_values(tmp_path / ".env") == {"TELEGRAM_BOT_TOKEN": TOKEN}
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
