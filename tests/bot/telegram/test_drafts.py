"""Message drafts under flood control: updates coalesce to the newest text, a refusal is
remembered, a quiet draft is kept from fading, and closing waits for the update on its way."""

from __future__ import annotations

import asyncio

import pytest
from telegram.ext import ExtBot

from bot.telegram import drafts
from bot.telegram.drafts import DraftStream, Rendered, drafts_possible
from bot.telegram.flood import FloodControl, Limits
from tests.fakes.telegram import BotApiEmulator

USER = 42
GROUP = -1001234


def flood_bot(tg: BotApiEmulator, flood: FloodControl | None = None) -> ExtBot[None]:
    return ExtBot(  # type: ignore[return-value]
        tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url, rate_limiter=flood
    )


def plain(text: str) -> Rendered:
    return text.strip(), []


class Refusals:
    """Counts the calls of ``on_refused``."""

    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()


async def test_updates_that_waited_for_budget_show_the_newest_text() -> None:
    flood = FloodControl(Limits(overall=(1, 0.3, 0)))
    async with BotApiEmulator() as tg, flood_bot(tg, flood) as bot:
        tg.add_chat(USER)
        await bot.send_message(USER, "💭 Thinking…")  # the overall budget is spent
        stream = DraftStream(bot, USER, 5, interval=0, render=plain, on_refused=Refusals())
        stream.show("A")
        await asyncio.sleep(0)  # its update now waits for budget
        stream.show("A fox")
        stream.show("A fox is red")
        await tg.wait_for(lambda: tg.drafts)
        await stream.close()
    assert [(d.draft_id, d.text) for d in tg.drafts] == [(5, "A fox is red")]


async def test_a_refused_draft_stops_the_stream_and_is_remembered() -> None:
    async with BotApiEmulator() as tg, flood_bot(tg) as bot:
        tg.add_chat(USER)
        tg.fail_next("sendMessageDraft", error_code=400, description="Bad Request: nope")
        refusals = Refusals()
        stream = DraftStream(bot, USER, 5, interval=0, render=plain, on_refused=refusals)
        assert drafts_possible(bot, USER) and not drafts_possible(bot, GROUP)
        stream.show("A")
        await asyncio.wait_for(refusals.event.wait(), 10)
        assert stream.refused
        stream.show("A fox")
        await stream.close()
        assert (refusals.count, tg.drafts) == (1, [])
        assert not drafts_possible(bot, USER)
    async with BotApiEmulator() as other, flood_bot(other) as other_bot:
        assert drafts_possible(other_bot, USER)  # another bot (token) is not affected


async def test_a_passing_failure_does_not_stop_the_stream() -> None:
    async with BotApiEmulator() as tg, flood_bot(tg) as bot:
        tg.add_chat(USER)
        tg.fail_next("sendMessageDraft", error_code=500)
        stream = DraftStream(bot, USER, 5, interval=0, render=plain, on_refused=Refusals())
        stream.show("A")
        await tg.wait_for(lambda: tg.calls("sendMessageDraft", chat_id=USER))
        stream.show("A fox")
        await tg.wait_for(lambda: tg.drafts)
        await stream.close()
        assert [d.text for d in tg.drafts] == ["A fox"] and not stream.refused


async def test_a_quiet_draft_is_sent_again_before_it_fades(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(drafts, "KEEP_ALIVE", 0.05)
    async with BotApiEmulator() as tg, flood_bot(tg) as bot:
        tg.add_chat(USER)
        stream = DraftStream(bot, USER, 5, interval=0, render=plain, on_refused=Refusals())
        stream.show("A fox")
        await tg.wait_for(lambda: len(tg.drafts) >= 3)
        await stream.close()
    assert {d.text for d in tg.drafts} == {"A fox"}


async def test_closing_waits_for_the_update_on_its_way_and_sends_no_more() -> None:
    async with BotApiEmulator() as tg, flood_bot(tg) as bot:
        tg.add_chat(USER)
        tg.hold("sendMessageDraft")
        stream = DraftStream(bot, USER, 5, interval=0, render=plain, on_refused=Refusals())
        stream.show("A fox")
        await tg.wait_for(lambda: tg.held("sendMessageDraft"))
        closing = asyncio.create_task(stream.close())
        stream.show("A fox is red")
        await asyncio.sleep(0)
        assert not closing.done()  # the update on its way is waited for
        tg.release("sendMessageDraft")
        await closing
    assert [d.text for d in tg.drafts] == ["A fox"]


async def test_a_new_draft_starts_with_the_thinking_placeholder() -> None:
    async with BotApiEmulator() as tg, flood_bot(tg) as bot:
        tg.add_chat(USER)
        stream = DraftStream(bot, USER, 5, interval=0, render=plain, on_refused=Refusals())
        stream.show("A fox")
        await tg.wait_for(lambda: tg.drafts)
        stream.restart(6)
        await tg.wait_for(lambda: len(tg.drafts) == 2)
        stream.show("Foxes")
        await tg.wait_for(lambda: len(tg.drafts) == 3)
        await stream.close()
    assert [(d.draft_id, d.text) for d in tg.drafts] == [(5, "A fox"), (6, ""), (6, "Foxes")]
