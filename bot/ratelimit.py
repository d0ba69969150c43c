"""Flood control for every Bot API call: Telegram's overall and group limits, per-chat pacing."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]

# Methods that put or change a message in a chat; actions, answers and reads are not paced.
PACED_PREFIXES = ("send", "edit", "copy", "forward")
UNPACED = {"sendChatAction"}


class FloodControl(AIORateLimiter):
    """AIORateLimiter (overall and per-group limits, retries after 429) plus ~1/s per private chat.

    python-telegram-bot's limiter leaves private chats to the overall limit; Telegram wants about
    one message a second there, so message-producing calls to a private chat share one limiter.
    """

    def __init__(
        self,
        *,
        overall_per_second: float = 25,
        group_per_minute: float = 18,
        private_per_second: float = 1,
        max_retries: int = 3,
    ) -> None:
        super().__init__(
            overall_max_rate=overall_per_second,
            overall_time_period=1,
            group_max_rate=group_per_minute,
            group_time_period=60,
            max_retries=max_retries,
        )
        self._private_rate = private_per_second
        self._private: dict[int, AsyncLimiter] = {}

    def _private_limiter(self, chat_id: int) -> AsyncLimiter:
        if len(self._private) > 1024:
            idle = [k for k, v in self._private.items() if v.has_capacity(v.max_rate)]
            for key in idle:
                del self._private[key]
        limiter = self._private.get(chat_id)
        if limiter is None:
            limiter = self._private[chat_id] = AsyncLimiter(1, 1 / self._private_rate)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        chat_id = data.get("chat_id")
        paced = endpoint.startswith(PACED_PREFIXES) and endpoint not in UNPACED
        if paced and isinstance(chat_id, int) and chat_id > 0:
            async with self._private_limiter(chat_id):
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
