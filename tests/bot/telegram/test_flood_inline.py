"""Flood control of inline messages: each one counts as a group of its own."""

from __future__ import annotations

import asyncio

from bot.telegram.flood import FloodControl, Limits, Priority, inline_chat_key


def test_each_inline_message_has_a_key_no_real_chat_has() -> None:
    first, second = inline_chat_key("AgAAAfirst"), inline_chat_key("AgAAAsecond")
    assert first == inline_chat_key("AgAAAfirst") and first != second
    assert first < -(2**52) and second < -(2**52)  # real chat ids fit in 52 bits


async def test_edits_of_one_inline_message_are_paced_others_are_not_held_back() -> None:
    flood = FloodControl(Limits(chat_burst=1, chat_per_second=5.0, chat_reserve=0))
    sent: list[str] = []

    async def edit(inline_message_id: str, label: str) -> None:
        async def callback() -> bool:
            sent.append(label)
            return True

        data = {"inline_message_id": inline_message_id, "text": label}
        await flood.process_request(callback, (), {}, "editMessageText", data, None)

    await edit("AgAAAone", "one, first")
    later = asyncio.create_task(edit("AgAAAone", "one, second"))  # waits about 0.2 s
    await asyncio.sleep(0)  # the second edit of "one" queues up first
    await edit("AgAAAtwo", "two, first")
    await later
    assert sent == ["one, first", "two, first", "one, second"]


async def test_a_status_turn_is_spent_by_the_edit_of_its_inline_message() -> None:
    flood = FloodControl(Limits(chat_burst=1, chat_per_second=0.01, chat_reserve=0))
    sent: list[str] = []

    async def callback() -> bool:
        sent.append("edit")
        return True

    key = inline_chat_key("AgAAAstatus")
    with await flood.turn("editMessageText", key, Priority.STATUS):
        data = {"inline_message_id": "AgAAAstatus"}
        # Counted once, under the turn: a second count would wait 100 s for the bucket.
        await asyncio.wait_for(
            flood.process_request(callback, (), {}, "editMessageText", data, None), 1.0
        )
    assert sent == ["edit"]
