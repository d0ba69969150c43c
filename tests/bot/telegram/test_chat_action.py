"""The chat action heartbeat: shown in the job's topic, and not repeated to a chat that is gone."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.telegram import chat_action


class ActionBot:
    """Just enough of telegram.Bot: records chat actions, failing each with ``error``."""

    def __init__(self, error: TelegramError | None) -> None:
        self.error = error
        self.sent: list[tuple[int, str, int | None]] = []

    async def send_chat_action(
        self, chat_id: int, action: str, message_thread_id: int | None = None
    ) -> bool:
        self.sent.append((chat_id, action, message_thread_id))
        if self.error is not None:
            raise self.error
        return True


async def run_turns(bot: ActionBot, turns: int = 50) -> None:
    """Lets the heartbeat (every 0 s here) run ``turns`` times around the event loop."""
    async with chat_action.chat_action(bot, -100, "typing", 7):  # type: ignore[arg-type]
        for _ in range(turns):
            await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_action, "CHAT_ACTION_PERIOD", 0)


async def test_the_action_is_shown_in_the_topic_and_repeated() -> None:
    bot = ActionBot(None)
    await run_turns(bot)
    assert len(bot.sent) > 2 and set(bot.sent) == {(-100, "typing", 7)}


async def test_a_transient_failure_is_tried_again() -> None:
    bot = ActionBot(NetworkError("timed out"))
    await run_turns(bot)
    assert len(bot.sent) > 2


async def test_a_chat_that_blocked_or_removed_the_bot_is_not_asked_again() -> None:
    bot = ActionBot(Forbidden("Forbidden: bot was kicked from the supergroup chat"))
    await run_turns(bot)
    assert len(bot.sent) == 1
