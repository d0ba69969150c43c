"""The shared flood budget when Redis fails, and what it leaves in Redis: a replica keeps to its
share while Redis is down and shares again when it is back; places of calls whose replica died
free themselves; every key expires."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.telegram.budget import Ask, Grant, Hold
from bot.telegram.flood import Limits
from bot.telegram.shared_budget import RedisBudget
from tests.bot.telegram.budget_helpers import Telegram, most_in, replicas, until
from tests.services import RedisServer

GROUP_CALL = Ask(-5, False, (1, 1.0, 0), (3, 1.0, 1), (20, 60.0, 10))


async def test_redis_down_a_replica_keeps_to_its_share_then_shares_again(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram.shared_budget")
    telegram = Telegram()
    loop = asyncio.get_running_loop()
    async with replicas(redis_server, count=1, every=0.1) as group:
        flood, budget = group.floods[0], group.budgets[0]
        waiting = [asyncio.create_task(telegram.call(flood, 0, 100 + i)) for i in range(40)]
        await until(lambda: len(telegram.sent) >= 30)
        redis_server.stop()
        stopped = loop.time()
        await asyncio.gather(*waiting)  # the calls waiting for Redis went out all the same
        await asyncio.gather(*[telegram.call(flood, 0, 200 + i) for i in range(20)])
        since_stop = telegram.times(since=stopped)
        assert len(since_stop) == 30
        assert most_in(since_stop, 1.0) == 10  # a third of the budget: three replicas alive
        assert most_in(telegram.times(), 1.0) == 30  # the switch did not add to the 30
        assert not budget.shared
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "1/3" in warnings[0].getMessage()

        redis_server.start()
        await until(lambda: budget.shared)
        back = loop.time()
        await asyncio.gather(*[telegram.call(flood, 0, 300 + i) for i in range(30)])
        assert most_in(telegram.times(since=back), 1.0) > 10  # the whole budget again
        assert await group.redis.zcard(group.key("all")) == 30  # counted in Redis
    messages = [r.getMessage() for r in caplog.records]
    assert sum("shared again" in m for m in messages) == 1
    assert sum(r.levelno >= logging.WARNING for r in caplog.records) == 1


async def test_a_redis_down_at_start_is_a_local_share_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = RedisBudget("redis://:secret@127.0.0.1:1/0", 42, replicas_alive=None)
    await budget.start()
    try:
        assert not budget.shared
        verdicts = await budget.take([GROUP_CALL, GROUP_CALL])
        assert isinstance(verdicts[0], Grant) and isinstance(verdicts[1], Hold)  # 1 a second
        await budget.pause(-5, 1.0)  # nothing to tell: no error either
    finally:
        await budget.stop()
    assert "unreachable" in caplog.text and "secret" not in caplog.text


async def test_the_place_of_a_call_whose_replica_died_frees_itself_after_its_lease(
    redis_server: RedisServer,
) -> None:
    async with replicas(redis_server, count=2, every=0.1, lease=0.5) as group:
        dying, alive = group.budgets
        [taken] = await dying.take([GROUP_CALL])
        assert isinstance(taken, Grant)
        await group.floods[0].shutdown()  # killed mid-call: its lease is never renewed
        loop = asyncio.get_running_loop()
        died = loop.time()
        verdicts: list[Grant | Hold] = []

        async def granted() -> bool:
            verdicts[:] = await alive.take([GROUP_CALL])
            return isinstance(verdicts[0], Grant)

        await until(granted, within=5.0)
        # Counted as answered at the end of its lease, then a second in the overall window.
        assert 1.3 <= loop.time() - died < 3.0


async def test_a_call_longer_than_its_lease_keeps_its_place_and_counts_at_its_answer(
    redis_server: RedisServer,
) -> None:
    async with replicas(redis_server, count=2, every=0.1, lease=0.5) as group:
        slow, other = group.budgets
        [taken] = await slow.take([GROUP_CALL])
        assert isinstance(taken, Grant)
        await asyncio.sleep(1.5)  # three leases: renewed all along
        [held] = await other.take([GROUP_CALL])
        assert isinstance(held, Hold) and held.everything
        slow.done(taken, answered=True)

        async def counted_at_the_answer() -> bool:
            [verdict] = await other.take([GROUP_CALL])
            return isinstance(verdict, Hold) and verdict.seconds > 0.5

        await until(counted_at_the_answer)


async def test_two_bots_on_one_redis_each_have_their_own_budget(
    redis_server: RedisServer,
) -> None:
    async with replicas(redis_server, count=1) as one, replicas(redis_server, count=1) as two:
        [first] = await one.budgets[0].take([GROUP_CALL])  # 1 a second overall
        [second] = await two.budgets[0].take([GROUP_CALL])
        [third] = await one.budgets[0].take([GROUP_CALL])
    assert isinstance(first, Grant) and isinstance(second, Grant)
    assert isinstance(third, Hold)


async def test_every_key_the_scripts_write_expires(redis_server: RedisServer) -> None:
    async with replicas(redis_server, count=1, lease=6.0) as group:
        budget = group.budgets[0]

        async def written(names: set[str]) -> bool:
            prefix = group.key("")
            return {key.removeprefix(prefix) for key in await group.keys()} == names

        async def expire(bounds: dict[str, int]) -> None:
            await until(lambda: written(set(bounds)))
            for name, bound in bounds.items():  # what each key holds, a second more at most
                assert 0 < await group.redis.pttl(group.key(name)) <= bound, name

        [taken] = await budget.take([GROUP_CALL])
        assert isinstance(taken, Grant)
        # In flight: held for its lease (milliseconds), in the windows for their length more.
        await expire({"all": (6 + 1 + 1) * 1000, "g:-5": (6 + 60 + 1) * 1000, "c:-5": 7000})
        budget.done(taken, answered=True)
        await budget.pause(-5, 2.0)
        await budget.pause(None, 1.5)
        await expire(
            {
                "all": (6 + 1 + 1) * 1000,
                "g:-5": (6 + 60 + 1) * 1000,
                "b:-5": (1 + 1) * 1000,  # the chat's bucket: full again a second after
                "pause:-5": 2000,
                "pause": 1500,
            }
        )
        await budget.pause(-5, 0.5)  # a shorter pause does not shorten a longer one
        assert await group.redis.pttl(group.key("pause:-5")) > 1000


def test_limits_of_the_local_share_are_a_third_with_three_replicas() -> None:
    from bot.telegram.shared_budget import LocalShare

    share = LocalShare(3)
    ask = Ask(1, False, Limits().overall, (3, 1.0, 1), None)
    taken = share.take(ask)
    assert not isinstance(taken, Hold)
    assert isinstance(share.take(ask), Hold)  # the chat's bucket: a burst of one
    share.give_back(taken, answered=True)
    for chat in range(2, 11):
        assert not isinstance(share.take(Ask(chat, False, Limits().overall, None, None)), Hold)
    held = share.take(Ask(None, False, Limits().overall, None, None))
    assert isinstance(held, Hold) and held.everything  # 10 a second overall
