"""Fixtures for the Bot API emulator's own tests: the emulator with a private chat and a group,
python-telegram-bot's ``Bot`` on it, and a host serving pictures by URL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram

from tests.fakes.emulator_support import GROUP, USER, ImageHost
from tests.fakes.telegram import BotApiEmulator


@pytest.fixture
async def tg() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        emulator.add_chat(USER)
        emulator.add_chat(GROUP)
        yield emulator


@pytest.fixture
async def bot(tg: BotApiEmulator) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        tg.token, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot"
    ) as client:
        yield client


@pytest.fixture
async def host() -> AsyncIterator[ImageHost]:
    async with ImageHost() as server:
        yield server  # type: ignore[misc]
