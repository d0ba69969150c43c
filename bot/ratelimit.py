"""Flood control for every Bot API call, so that normal use never meets a 429."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]

# Calls that put or change a message in a chat count towards Telegram's limits; chat actions,
# deletions, callback answers and reads do not.
COUNTED_PREFIXES = ("send", "edit", "copy", "forward")
NOT_COUNTED = {"sendChatAction"}


def leaky(per_window: float, window: float) -> AsyncLimiter:
    """A limiter that never lets more than ``per_window`` calls into ANY ``window`` seconds.

    aiolimiter is a leaky bucket that holds C and drains C per period: a full bucket plus one
    period of draining admits 2C in one window, so C is half the limit and the period the window.
    """
    return AsyncLimiter(per_window / 2, window)


class FloodControl(BaseRateLimiter[int]):
    """Telegram's published limits: ~30 messages/s overall, 20/min per group, ~1/s per chat.

    python-telegram-bot's AIORateLimiter counts chat actions against a group's 20 a minute and
    leaves private chats to the overall limit; this one counts only message-producing calls and
    paces every chat. A 429 is retried after its ``retry_after`` (``max_retries`` times).
    """

    def __init__(
        self,
        *,
        overall_per_second: float = 30,
        group_per_minute: float = 20,
        private_per_second: float = 1,
        max_retries: int = 3,
    ) -> None:
        self._overall = leaky(overall_per_second, 1)
        self._group_rate = group_per_minute
        self._private_rate = private_per_second
        self._chats: dict[int, AsyncLimiter] = {}
        self._max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        if len(self._chats) > 4096:
            for key in [k for k, v in self._chats.items() if v.has_capacity(v.max_rate)]:
                del self._chats[key]
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if chat_id < 0:
                limiter = leaky(self._group_rate, 60)
            else:
                limiter = AsyncLimiter(1, 1 / self._private_rate)
            self._chats[chat_id] = limiter
        return limiter

    def spare(self, chat_id: int) -> bool:
        """Whether an optional message (a status edit) fits now without delaying a required one.

        Half of a group's budget and of the overall budget is kept for results and replies.
        """
        chat = self._chat_limiter(chat_id)
        return chat.has_capacity(max(1.0, chat.max_rate / 2)) and self._overall.has_capacity(
            self._overall.max_rate / 2
        )

    def _limiters(self, endpoint: str, data: dict[str, Any]) -> list[AsyncLimiter]:
        if not endpoint.startswith(COUNTED_PREFIXES) or endpoint in NOT_COUNTED:
            return []
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        chat = [self._chat_limiter(chat_id)] if isinstance(chat_id, int) else []
        return [*chat, self._overall]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            try:
                async with contextlib.AsyncExitStack() as stack:
                    for limiter in self._limiters(endpoint, data):
                        await stack.enter_async_context(limiter)
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == retries:
                    raise
                delay = _seconds(error) + 0.1
                log.info("%s hit a flood limit; retrying in %.1f s", endpoint, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def _seconds(error: RetryAfter) -> float:
    value: int | dt.timedelta = error._retry_after  # a timedelta; the public property warns
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
