"""Bot API calls that ride out Telegram's transient faults and name its permanent ones.

Timeouts, network errors, 5xx answers and 429s are retried with backoff (a 429 after the
``retry_after`` Telegram asks for) until a deadline; a group upgraded to a supergroup is
followed to its new chat id; a chat that blocked or removed the bot raises :class:`ChatGone`;
any other refusal (400) is raised unchanged for the caller to handle.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 30.0
GONE_TEXTS = ("chat not found", "bot was blocked", "bot was kicked", "user is deactivated")


class ChatGone(Exception):
    """The chat blocked or removed the bot, or no longer exists: nothing can be sent there."""


class Postponed(Exception):
    """Telegram kept failing transiently until the deadline; the caller may try again later."""


class Destination(Protocol):
    """Where a call goes: a chat id that follows a group's upgrade to a supergroup."""

    @property
    def chat_id(self) -> int: ...

    async def moved(self, new_chat_id: int) -> None:
        """Telegram said the chat now lives at ``new_chat_id``."""


def is_chat_gone(error: TelegramError) -> bool:
    """403 (blocked, kicked, not a member) or 400 "chat not found"."""
    text = str(error).lower()
    return isinstance(error, Forbidden) or (
        isinstance(error, BadRequest) and any(t in text for t in GONE_TEXTS)
    )


def retry_after_seconds(error: RetryAfter) -> float:
    value: int | dt.timedelta = error._retry_after  # a timedelta; the public property warns
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def persistently(
    call: Callable[[int], Awaitable[T]], to: Destination, *, deadline: float
) -> T:
    """``await call(chat_id)`` until Telegram accepts it or refuses it for good.

    ``deadline`` is a time on the event loop's clock; past it :class:`Postponed` is raised
    (from the last transient error). ChatGone and BadRequest end it at once.
    """
    loop = asyncio.get_running_loop()
    pause = FIRST_PAUSE
    last: TelegramError
    while True:
        try:
            return await call(to.chat_id)
        except ChatMigrated as error:
            if int(error.new_chat_id) == to.chat_id:
                raise  # Telegram contradicts itself; do not loop
            log.info("chat %s moved to %s", to.chat_id, error.new_chat_id)
            await to.moved(int(error.new_chat_id))
            continue
        except RetryAfter as error:
            wait, last = retry_after_seconds(error) + 0.1, error
        except TelegramError as error:
            if is_chat_gone(error):
                raise ChatGone(str(error)) from error
            if isinstance(error, BadRequest) or not isinstance(error, NetworkError):
                raise
            wait, last = pause, error
            pause = min(pause * 2, LONGEST_PAUSE)
        if loop.time() + wait > deadline:
            raise Postponed(str(last)) from last
        log.info("Telegram failed transiently (%s); trying again in %.1f s", last, wait)
        await asyncio.sleep(wait)
