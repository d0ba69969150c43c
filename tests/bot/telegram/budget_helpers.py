"""What the shared flood budget's tests share: replicas of one bot on the real Redis, and a
stand-in for Telegram that records when each call was answered."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from telegram.error import RetryAfter

from bot.telegram.flood import FloodControl, Limits
from bot.telegram.shared_budget import RedisBudget
from tests.services import RedisServer

_bots = itertools.count(1_000_001)


class Telegram:
    """Stands in for the HTTP calls the replicas' rate limiters let through: records when each
    call was answered (one clock for all replicas) and refuses chosen calls with a 429."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, int, int]] = []  # (answered at, replica, chat)
        self.refuse: dict[str, list[float]] = {}  # label -> retry_after of its next 429s
        self.refused_at: dict[str, float] = {}
        self.at: dict[str, float] = {}
        self._tried: dict[str, asyncio.Event] = {}

    async def call(self, flood: FloodControl, replica: int, chat: int, label: str = "") -> None:
        loop = asyncio.get_running_loop()

        async def callback() -> bool:
            self._tried.setdefault(label, asyncio.Event()).set()
            refusals = self.refuse.get(label)
            if refusals:
                self.refused_at[label] = loop.time()
                raise RetryAfter(dt.timedelta(seconds=refusals.pop(0)))
            self.sent.append((loop.time(), replica, chat))
            self.at[label] = loop.time()
            return True

        data = {"chat_id": chat}
        await flood.process_request(callback, (), {}, "sendMessage", data, None)

    async def tried(self, label: str) -> None:
        """Returns once the call ``label`` was attempted."""
        await asyncio.wait_for(self._tried.setdefault(label, asyncio.Event()).wait(), 5.0)

    def times(self, chats: Sequence[int] | None = None, since: float = 0.0) -> list[float]:
        """When the calls (to ``chats``, answered from ``since`` on) were answered, in order."""
        return sorted(t for t, _, c in self.sent if t >= since and (chats is None or c in chats))


def most_in(times: list[float], seconds: float) -> int:
    """The most calls in any window of ``seconds`` (a hair shorter: float noise)."""
    return max((sum(1 for u in times if t <= u < t + seconds - 1e-3) for t in times), default=0)


async def three_alive() -> int:
    return 3


async def until(condition: Callable[[], object], within: float = 5.0) -> None:
    """Waits until ``condition`` (or what it awaits) is true, checked every 10 ms; fails after
    ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)


@dataclass
class Replicas:
    """Replicas of one bot, each with its own flood control, sharing one Redis."""

    floods: list[FloodControl]
    budgets: list[RedisBudget]
    bot_id: int
    redis: Redis

    def key(self, name: str) -> str:
        return f"flood:{{{self.bot_id}}}:{name}"

    async def keys(self) -> list[str]:
        pattern = self.key("*")
        return sorted([key.decode() async for key in self.redis.scan_iter(match=pattern)])


@asynccontextmanager
async def replicas(
    redis_server: RedisServer,
    count: int = 3,
    limits: Limits | None = None,
    *,
    every: float = 2.0,
    lease: float = 6.0,
) -> AsyncIterator[Replicas]:
    """``count`` replicas of a new bot, started; stopped and their keys deleted at the end."""
    bot_id = next(_bots)
    budgets = [
        RedisBudget(redis_server.url, bot_id, replicas_alive=three_alive, every=every, lease=lease)
        for _ in range(count)
    ]
    floods = [FloodControl(limits, budget=budget) for budget in budgets]
    for flood in floods:
        await flood.initialize()
    group = Replicas(floods, budgets, bot_id, Redis.from_url(redis_server.url))
    try:
        yield group
    finally:
        for flood in floods:
            await flood.shutdown()
        if redis_server.process is None:  # a test stopped it: the other tests need it
            redis_server.start()
        keys = await group.keys()
        if keys:
            await group.redis.delete(*keys)
        await group.redis.aclose()
