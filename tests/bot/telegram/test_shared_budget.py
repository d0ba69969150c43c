"""One flood budget per token: replicas sharing it through a real Redis stay within Telegram's
limits together, use all of them, and a 429 one of them draws holds the others back too."""

from __future__ import annotations

import asyncio
import itertools

from bot.telegram.budget import Ask, Grant, Hold
from bot.telegram.flood import Limits, Priority
from tests.bot.telegram.budget_helpers import Telegram, most_in, replicas, until
from tests.services import RedisServer


async def test_three_replicas_together_stay_within_one_tokens_limits_and_use_them(
    redis_server: RedisServer,
) -> None:
    telegram = Telegram()
    async with replicas(redis_server) as group:
        floods = group.floods
        calls = [telegram.call(floods[i % 3], i % 3, 7) for i in range(5)]  # one private chat
        calls += [telegram.call(floods[i % 3], i % 3, 1000 + i) for i in range(90)]
        await asyncio.gather(*calls)
    everything = telegram.times()
    assert len(everything) == 95
    assert most_in(everything, 1.0) == 30  # not 3 x 30: one budget for the token...
    assert everything[89] - everything[0] < 3.0  # ...and all of it, not 10 a second each
    chat = telegram.times([7])  # a burst of three, then about one a second
    for i, j in itertools.combinations(range(len(chat)), 2):
        assert j - i + 1 <= 3 + (chat[j] - chat[i]) + 0.01
    assert len({replica for _, replica, c in telegram.sent if c == 7}) == 3


async def test_a_group_gets_20_calls_a_minute_from_every_replica_together(
    redis_server: RedisServer,
) -> None:
    telegram = Telegram()
    limits = Limits(chat_burst=30, chat_per_second=30.0)  # only the group's minute binds
    async with replicas(redis_server, limits=limits) as group:
        floods = group.floods
        tasks = [asyncio.create_task(telegram.call(floods[i % 3], i % 3, -100)) for i in range(30)]
        await until(lambda: len(telegram.sent) >= 20)
        done, pending = await asyncio.wait(tasks, timeout=0.5)
        assert len(done) == 20 and len(pending) == 10  # the rest waits for the minute
        assert len({replica for _, replica, _ in telegram.sent}) == 3
        assert await group.redis.zcard(group.key("g:-100")) == 20  # the group's minute
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    assert len(telegram.sent) == 20


async def test_a_429_seen_by_one_replica_pauses_that_chat_for_every_replica(
    redis_server: RedisServer,
) -> None:
    telegram = Telegram()
    async with replicas(redis_server, count=2) as group:
        a, b = group.floods
        await telegram.call(a, 0, 1, "first")  # the chat's bucket is fuller than the overall
        telegram.refuse["refused"] = [0.6]
        refused = asyncio.create_task(telegram.call(a, 0, 1, "refused"))
        await until(lambda: group.redis.exists(group.key("pause:1")))
        other_chat = asyncio.create_task(telegram.call(b, 1, 2, "other chat"))
        same_chat = asyncio.create_task(telegram.call(b, 1, 1, "same chat"))
        await asyncio.gather(refused, other_chat, same_chat)
        assert not await group.redis.exists(group.key("pause"))  # nothing else was paused
    paused_at = telegram.refused_at["refused"]
    assert telegram.at["same chat"] - paused_at >= 0.6  # b waited for a's retry_after
    assert telegram.at["other chat"] - paused_at < 0.3  # other chats did not
    assert telegram.at["refused"] - paused_at >= 0.6


async def test_a_global_429_seen_by_one_replica_pauses_every_replica(
    redis_server: RedisServer,
) -> None:
    telegram = Telegram()
    async with replicas(redis_server, count=2, limits=Limits(overall=(4, 1.0, 0))) as group:
        a, b = group.floods
        for chat in (1, 2, 3):
            await telegram.call(a, 0, chat, f"answer {chat}")
        telegram.refuse["refused"] = [0.6]  # the overall window is fuller than chat 4's
        refused = asyncio.create_task(telegram.call(a, 0, 4, "refused"))
        await until(lambda: group.redis.exists(group.key("pause")))
        other = asyncio.create_task(telegram.call(b, 1, 5, "another chat on b"))
        await asyncio.gather(refused, other)
    assert telegram.at["another chat on b"] - telegram.refused_at["refused"] >= 0.6


async def test_a_status_edit_held_for_the_reserve_does_not_hold_back_an_answer(
    redis_server: RedisServer,
) -> None:
    telegram = Telegram()
    async with replicas(redis_server, count=2) as group:
        a, b = group.floods
        await asyncio.gather(*[telegram.call(a, 0, 100 + i) for i in range(25)])
        full_at = telegram.times()[-1]  # 25 of 30: only the reserve of 10 is left

        async def progress() -> None:
            with await b.turn("editMessageText", 1, Priority.STATUS):
                await telegram.call(b, 1, 1, "status")

        status = asyncio.create_task(progress())
        await asyncio.sleep(0.2)  # the edit asks Redis and is held (without, it is only idle)
        asked = asyncio.get_running_loop().time()
        await telegram.call(b, 1, 2, "answer")
        await status
    assert telegram.at["answer"] - asked < 0.3  # the answer took a place at once...
    assert telegram.at["status"] - full_at > 0.5  # ...the edit waited for the reserve


async def test_clean_up_leaves_room_another_replica_wants_for_a_result(
    redis_server: RedisServer,
) -> None:
    """Answers and results go first whichever replica has them: while one waits for the
    overall window, a deletion on another replica does not take the room that frees up."""
    overall = (4, 1.0, 2)  # 4 a second; clean-up leaves 2 of them for answers and results
    result, clean_up = Ask(None, False, overall, None, None), Ask(None, True, overall, None, None)
    async with replicas(redis_server, count=2) as group:
        a, b = group.budgets
        first = await a.take([result] * 4)
        assert all(isinstance(grant, Grant) for grant in first)
        [waits] = await a.take([result])
        assert isinstance(waits, Hold) and waits.everything
        for grant in first[:3]:
            a.done(grant, answered=False)  # never sent: their room frees at once
        a.done(first[3], answered=True)

        async def one_counted() -> bool:
            return int(await group.redis.zcard(group.key("all"))) == 1

        await until(one_counted)
        [held] = await b.take([clean_up])  # room for it, but a result is waiting
        assert isinstance(held, Hold) and held.everything
        [granted] = await a.take([result])
        assert isinstance(granted, Grant)

        async def clean_up_goes() -> bool:
            return isinstance((await b.take([clean_up]))[0], Grant)

        await until(clean_up_goes, within=3.0)  # nobody waits any more
