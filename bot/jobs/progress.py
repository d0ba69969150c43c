"""A running job's clock: seconds since it started, and a ticker that refreshes its status."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from bot.telegram.chat_action import repeating


def ticker(period: float, tick: Callable[[], None]) -> AbstractAsyncContextManager[None]:
    """Calls ``tick`` every ``period`` seconds while the block runs (to refresh elapsed time)."""

    async def call() -> None:
        tick()

    return repeating(period, call, first_now=False)


class Clock:
    """Seconds since the job started running (``start`` is on the event loop's clock)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def reset(self) -> None:
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start
