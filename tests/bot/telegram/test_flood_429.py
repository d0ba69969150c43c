"""Flood control after a 429: what it concerns waits, its limit runs slower for a while, and
nothing is dropped."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram.error import RetryAfter

from bot.telegram.flood import Bucket, FloodControl, Learning, Limits, Priority, Window


class Api:
    """The HTTP call PTB hands to the rate limiter: refuses chosen calls with 429 and records
    when each call went out for good."""

    def __init__(self, flood: FloodControl) -> None:
        self.flood = flood
        self.sent: list[str] = []
        self.at: dict[str, float] = {}
        self.refuse: dict[str, list[float]] = {}  # label -> retry_after of its next 429s
        self.attempts: dict[str, list[float]] = {}
        self._tried: dict[str, asyncio.Event] = {}

    async def tried(self, label: str) -> None:
        """Returns once the call ``label`` was attempted."""
        await self._tried.setdefault(label, asyncio.Event()).wait()

    async def call(self, endpoint: str, chat_id: int, label: str) -> object:
        loop = asyncio.get_running_loop()

        async def callback() -> bool:
            self.attempts.setdefault(label, []).append(loop.time())
            self._tried.setdefault(label, asyncio.Event()).set()
            refusals = self.refuse.get(label)
            if refusals:
                raise RetryAfter(dt.timedelta(seconds=refusals.pop(0)))
            self.sent.append(label)
            self.at[label] = loop.time()
            return True

        return await self.flood.process_request(
            callback, (), {}, endpoint, {"chat_id": chat_id}, None
        )


async def test_a_429_for_one_chat_pauses_that_chat_only_and_nothing_is_dropped() -> None:
    flood = FloodControl()
    api = Api(flood)
    loop = asyncio.get_running_loop()
    await api.call("sendMessage", 1, "answer 1")
    api.refuse["picture 1"] = [0.5]  # the chat's bucket is fuller than the overall window
    start = loop.time()
    picture = asyncio.create_task(api.call("sendPhoto", 1, "picture 1"))
    await api.tried("picture 1")
    later = asyncio.create_task(api.call("sendPhoto", 1, "picture 1 again"))
    others = [api.call("sendMessage", chat, f"answer {chat}") for chat in range(2, 12)]
    await asyncio.gather(*others)
    assert loop.time() - start < 0.4  # the other chats did not wait for chat 1's pause
    assert "picture 1" not in api.sent and "picture 1 again" not in api.sent
    await asyncio.gather(picture, later)
    assert api.at["picture 1"] - start >= 0.5
    # The refused call kept its place: it went before the call queued behind it in its chat.
    assert api.sent.index("picture 1") < api.sent.index("picture 1 again")
    assert sorted(api.sent) == sorted(
        ["answer 1", "picture 1", "picture 1 again"] + [f"answer {c}" for c in range(2, 12)]
    )
    assert flood.too_many_requests == 1
    assert flood.overall_limit == 30  # the overall limit was not to blame


async def test_a_429_for_the_overall_limit_pauses_everything_and_lowers_it() -> None:
    flood = FloodControl(Limits(overall=(4, 1.0, 0)))
    api = Api(flood)
    loop = asyncio.get_running_loop()
    for chat in (1, 2, 3):
        await api.call("sendMessage", chat, f"answer {chat}")
    api.refuse["answer 4"] = [0.5]  # the overall window is full, chat 4's is not
    start = loop.time()
    refused = asyncio.create_task(api.call("sendMessage", 4, "answer 4"))
    await api.tried("answer 4")
    other = asyncio.create_task(api.call("sendMessage", 5, "answer 5"))
    await asyncio.sleep(0.3)
    assert "answer 5" not in api.sent  # everything waits for the overall limit's retry_after
    await asyncio.gather(refused, other)
    assert api.at["answer 4"] - start >= 0.5 and api.at["answer 5"] - start >= 0.5
    assert api.sent[-2:] == ["answer 4", "answer 5"]  # the refused call went first
    assert flood.overall_limit == 3  # learnt: 4 a second drew a 429


async def test_a_second_429_for_the_same_call_backs_off_further() -> None:
    flood = FloodControl()
    api = Api(flood)
    api.refuse["picture"] = [0.4, 0.4, 0.4]
    await api.call("sendPhoto", 7, "picture")
    first, second, third, fourth = api.attempts["picture"]
    assert second - first >= 0.4
    assert third - second >= 0.5  # retry_after x 1.25
    assert fourth - third >= 0.6  # x 1.5
    assert api.sent == ["picture"]


async def test_a_refused_status_edit_is_queued_again_as_a_status_edit() -> None:
    flood = FloodControl()
    api = Api(flood)
    api.refuse["progress"] = [0.2]
    with await flood.turn("editMessageText", 1, Priority.STATUS):
        edit = asyncio.create_task(api.call("editMessageText", 1, "progress"))
        await api.tried("progress")
        picture = asyncio.create_task(api.call("sendPhoto", 1, "picture"))
        await asyncio.gather(edit, picture)
    assert api.sent == ["picture", "progress"]  # the picture, more important, went first


def test_a_lowered_limit_recovers_slowly_and_not_up_to_what_drew_the_429_at_first() -> None:
    window = Window(30, 1.0, reserve=10)
    assert window.lower(now=100.0, admitted_at=99.9)
    assert (window.limit, window.reserve) == (24, 8)
    # 429s for calls let through before the lowering say nothing new.
    assert not window.lower(now=100.1, admitted_at=99.95)
    assert window.limit == 24
    window.free_at(159.0, keep=0)
    assert window.limit == 24
    window.free_at(160.0, keep=0)  # a minute without a 429: one step back up
    assert window.limit == 25
    window.free_at(100.0 + 9 * Learning.STEP_AFTER, keep=0)
    assert window.limit == 28  # just below the 30 that drew the 429, for a while
    window.free_at(100.0 + Learning.MEMORY + Learning.STEP_AFTER, keep=0)
    assert (window.limit, window.reserve) == (30, 10)


def test_a_chat_429_slows_the_chat_down() -> None:
    bucket = Bucket(3, 1.0)
    bucket.take()
    bucket.give_back(10.0)
    assert bucket.lower(now=10.0, admitted_at=10.0)
    assert bucket.burst == 2 and bucket.rate == 0.8
    for _ in range(2):  # a burst of two now
        assert bucket.free_at(10.0, keep=0) == 10.0
        bucket.take()
        bucket.give_back(10.0)
    assert bucket.free_at(10.0, keep=0) == 10.0 + 1 / 0.8
