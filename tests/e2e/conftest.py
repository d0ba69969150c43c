"""End-to-end harness: the Application ``python -m bot`` builds, against loopback fakes of the
Bot API and the four upstreams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.runtime import AnyApp, Runtime, attached
from bot.settings import BotSettings, load_settings
from tests.fakes.arta import FakeArta
from tests.fakes.dynaspark import FakeDynaspark
from tests.fakes.prodia import FakeProdia
from tests.fakes.sd35 import FakeSD35
from tests.fakes.telegram import BotApiEmulator, StoredMessage


@dataclass
class World:
    """Every fake, plus a way to (re)start the bot against them."""

    tg: BotApiEmulator
    arta: FakeArta
    prodia: FakeProdia
    sd35: FakeSD35
    dynaspark: FakeDynaspark
    data_dir: Path

    def settings(self, **overrides: Any) -> BotSettings:
        values: dict[str, Any] = {
            "telegram_bot_token": self.tg.token,
            "telegram_api_url": self.tg.url,
            "data_dir": self.data_dir,
            "poll_interval": 0.01,
            "status_edit_interval": 0.05,
            "allow_private_urls": True,  # the fakes live on 127.0.0.1
            "shutdown_grace": 0,
            **self.arta.overrides,
            "prodia_api_url": self.prodia.url,
            "prodia_image_url": self.prodia.url,
            "sd35_space_url": self.sd35.url,
            "dynaspark_api_url": self.dynaspark.url,
            # A failure shows plainly unless a test turns fallback on (test_fallback.py).
            "fallback_image_models": "none",
            "fallback_vision_models": "none",
            # No start-up probe jobs unless a test asks for them (test_deadline.py).
            "check_defaults": False,
        }
        values.update(overrides)
        return load_settings(_env_file=None, **values)

    @asynccontextmanager
    async def bot(self, **overrides: Any) -> AsyncIterator[AnyApp]:
        """The bot running with long polling inside the block."""
        app = build_application(self.settings(**overrides))
        async with running(app, poll_timeout=1):
            yield app

    # Convenience for assertions

    async def reply_to(
        self, chat_id: int, command: dict[str, Any], where: Callable[[StoredMessage], bool]
    ) -> StoredMessage:
        """Waits for a bot message replying to ``command`` that satisfies ``where``."""
        message_id = command["message_id"]

        def find() -> StoredMessage | None:
            for message in self.tg.bot_messages(chat_id):
                if message.reply_to == message_id and where(message):
                    return message
            return None

        return await self.tg.wait_for(find)

    async def status_of(self, chat_id: int, command: dict[str, Any]) -> StoredMessage:
        """The status message the bot posted for ``command``."""
        return await self.reply_to(chat_id, command, lambda m: m.kind == "text")

    async def photos_for(
        self, chat_id: int, command: dict[str, Any], count: int
    ) -> list[StoredMessage]:
        message_id = command["message_id"]

        def find() -> list[StoredMessage]:
            photos = [
                m
                for m in self.tg.bot_messages(chat_id, include_deleted=False)
                if m.reply_to == message_id
                and m.kind in ("photo", "document")
                and not (m.caption or "").startswith("👀")  # a live preview, in any language
            ]
            return photos if len(photos) >= count else []

        return await self.tg.wait_for(find)


def runtime(app: AnyApp) -> Runtime:
    value = attached(app)
    assert value is not None
    return value


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        fakes = [
            BotApiEmulator(),
            FakeArta(queue_polls=1, progress_polls=1),
            FakeProdia(),
            FakeSD35(),
            FakeDynaspark(),
        ]
        for fake in fakes:
            await stack.enter_async_context(fake)  # type: ignore[arg-type]
        tg, arta, prodia, sd35, dynaspark = fakes
        yield World(tg, arta, prodia, sd35, dynaspark, tmp_path)  # type: ignore[arg-type]
