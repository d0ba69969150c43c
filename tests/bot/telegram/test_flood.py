"""Flood control: Telegram's windows spent in full, in order of what the user waits for."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from telegram.error import RetryAfter

from bot.telegram.flood import Bucket, FloodControl, Limits, Priority, Window, sending_as


def test_a_window_counts_a_call_from_its_start_until_its_answer() -> None:
    window = Window(2, 1.0)
    window.take()
    window.take()
    assert window.free_at(0.0, keep=0) == float("inf")  # both still in flight
    window.give_back(0.5)  # answered at 0.5: counted until 1.5
    assert window.free_at(0.6, keep=0) == 1.5
    assert window.free_at(1.5, keep=0) == 1.5
    window.give_back(None)  # never sent: frees its place at once
    assert window.used(1.5) == 0


def test_a_chat_gets_a_burst_of_three_then_about_one_a_second() -> None:
    bucket = Bucket(3, 1.0)
    for _ in range(3):
        assert bucket.free_at(10.0, keep=0) == 10.0
        bucket.take()
        bucket.give_back(10.0)
    assert bucket.free_at(10.0, keep=0) == 11.0


def test_a_call_holds_its_token_until_answered_and_refill_starts_then() -> None:
    bucket = Bucket(3, 1.0)
    for _ in range(3):
        bucket.take()
    assert bucket.free_at(10.0, keep=0) == float("inf")
    bucket.give_back(10.5)
    assert bucket.free_at(10.5, keep=0) == 11.5


def test_a_reserve_keeps_room_for_what_matters() -> None:
    window = Window(30, 1.0, reserve=10)
    for _ in range(20):
        window.take()
        window.give_back(0.0)
    assert window.free_at(0.5, keep=0) == 0.5
    assert window.free_at(0.5, keep=window.reserve) == 1.0


class Api:
    """Stands in for the HTTP call PTB hands to the rate limiter; records what went out."""

    def __init__(self, flood: FloodControl) -> None:
        self.flood = flood
        self.sent: list[str] = []
        self.refusals: list[float] = []

    async def call(self, endpoint: str, chat_id: int, label: str, **kwargs: Any) -> Any:
        async def callback() -> bool:
            if self.refusals:
                raise RetryAfter(dt.timedelta(seconds=self.refusals.pop(0)))
            self.sent.append(label)
            return True

        return await self.flood.process_request(
            callback, (), {}, endpoint, {"chat_id": chat_id}, kwargs.get("priority")
        )


async def test_pictures_go_before_progress_edits_that_waited_longer() -> None:
    flood = FloodControl(Limits(overall=(2, 0.2, 1)))
    api = Api(flood)
    await api.call("sendMessage", 1, "answer 1")
    await api.call("sendMessage", 2, "answer 2")  # the window is full for 0.2 s

    async def progress_edit() -> None:
        with await flood.turn("editMessageText", 3, Priority.STATUS):
            await api.call("editMessageText", 3, "progress 3")

    edit = asyncio.create_task(progress_edit())
    await asyncio.sleep(0)  # the edit queues first
    picture = asyncio.create_task(api.call("sendPhoto", 4, "picture 4"))
    await asyncio.gather(edit, picture)
    assert api.sent == ["answer 1", "answer 2", "picture 4", "progress 3"]


async def test_first_answers_go_before_results() -> None:
    flood = FloodControl(Limits(overall=(1, 0.1, 0)))
    api = Api(flood)
    await api.call("sendMessage", 1, "answer 1")
    waiting = [
        asyncio.create_task(api.call("sendPhoto", 2, "picture 2")),
        asyncio.create_task(api.call("sendMediaGroup", 3, "album 3")),
        asyncio.create_task(api.call("sendMessage", 4, "answer 4")),
    ]

    async def ask_answer() -> None:
        with sending_as(Priority.RESULT):
            await api.call("sendMessage", 5, "ask answer 5")

    waiting.append(asyncio.create_task(ask_answer()))
    await asyncio.gather(*waiting)
    assert api.sent == ["answer 1", "answer 4", "picture 2", "album 3", "ask answer 5"]


async def test_a_group_waiting_goes_before_private_chats_that_waited_longer() -> None:
    """A group's place missed now may cost it a minute (20 a minute); a private chat's, a
    second: within one importance, groups' calls go first, each line in order of arrival."""
    flood = FloodControl(Limits(overall=(1, 0.1, 0)))
    api = Api(flood)
    await api.call("sendMessage", 1, "answer 1")  # the window is full for 0.1 s
    waiting = [
        asyncio.create_task(api.call("sendMessage", 2, "private 2")),
        asyncio.create_task(api.call("sendMessage", 3, "private 3")),
        asyncio.create_task(api.call("sendMessage", -100, "group -100")),
        asyncio.create_task(api.call("sendMessage", -200, "group -200")),
        asyncio.create_task(api.call("sendPhoto", -300, "group picture -300")),
    ]
    await asyncio.gather(*waiting)
    assert api.sent == [
        "answer 1",
        "group -100",
        "group -200",
        "private 2",
        "private 3",
        "group picture -300",  # a result: after every first answer still
    ]


async def test_a_429_is_retried_as_often_as_telegram_asks() -> None:
    flood = FloodControl()
    api = Api(flood)
    api.refusals = [0.01] * 6  # more than any small fixed retry count
    assert await api.call("sendPhoto", 7, "picture") is True
    assert api.sent == ["picture"]


async def test_calls_that_are_not_counted_are_never_held_back() -> None:
    flood = FloodControl(Limits(overall=(1, 60.0, 0)))
    api = Api(flood)
    await api.call("sendMessage", 1, "answer")
    await api.call("answerCallbackQuery", 1, "button")
    await api.call("getFile", 1, "download")
    assert api.sent == ["answer", "button", "download"]
    assert flood.busy(1) is False


async def test_deletions_and_chat_actions_count_in_private_chats_too() -> None:
    flood = FloodControl(Limits(overall=(2, 0.3, 0)))
    api = Api(flood)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await api.call("sendMessage", 1, "answer")
    await api.call("deleteMessage", 2, "delete in a private chat")
    await api.call("sendChatAction", 3, "typing")  # the window is full: waits for room
    assert loop.time() - start >= 0.25
    assert api.sent == ["answer", "delete in a private chat", "typing"]


async def test_a_chat_action_never_waits_it_is_skipped_without_room() -> None:
    flood = FloodControl(Limits(overall=(1, 60.0, 0)))
    permit = flood.turn_now("sendChatAction", 1, Priority.STATUS)
    assert permit is not None
    with permit:
        pass  # never sent: its place is free again
    await Api(flood).call("sendMessage", 1, "answer")
    assert flood.turn_now("sendChatAction", 2, Priority.STATUS) is None
    assert flood.turn_now("answerCallbackQuery", 2, Priority.STATUS) is not None  # free
