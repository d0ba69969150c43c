"""Status messages under flood control: waiting edits show the newest text, deletions batch."""

from __future__ import annotations

import asyncio

from telegram.ext import ExtBot

from bot.telegram.flood import FloodControl, Limits
from bot.telegram.status import LiveStatus
from tests.fakes.telegram import BotApiEmulator, StoredMessage

USER = 42
GROUP = -1001234


def flood_bot(tg: BotApiEmulator, flood: FloodControl) -> ExtBot[None]:
    return ExtBot(  # type: ignore[return-value]
        tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url, rate_limiter=flood
    )


async def test_a_status_edit_that_waited_for_budget_shows_the_newest_text() -> None:
    flood = FloodControl(Limits(overall=(1, 0.3, 0)))
    async with BotApiEmulator() as tg, flood_bot(tg, flood) as bot:
        tg.add_chat(USER)
        message = await bot.send_message(USER, "⏳ starting…")  # the overall budget is spent
        status = LiveStatus(bot, USER, message.message_id, 0, shown=message.text or "")
        status.show("⏳ #3 in line")
        await asyncio.sleep(0)  # its edit now waits for budget
        status.show("⏳ #2 in line")
        status.show("🎨 drawing")

        def edited() -> StoredMessage | None:
            stored = tg.message(USER, message.message_id)
            return stored if stored.edits else None

        stored = await tg.wait_for(edited)
        assert stored.content == "🎨 drawing"
        assert stored.edits == 1
        assert await status.remove()


async def test_finished_status_messages_in_a_group_are_deleted_together() -> None:
    flood = FloodControl()
    async with BotApiEmulator() as tg, flood_bot(tg, flood) as bot:
        tg.add_chat(GROUP, chat_type="supergroup")
        sent = [await bot.send_message(GROUP, f"job {i}") for i in range(3)]
        statuses = [
            LiveStatus(bot, GROUP, m.message_id, 0, shown=m.text or "") for m in sent
        ]  # the group's burst is spent: deletions wait, and gather
        assert all(await asyncio.gather(*(status.remove() for status in statuses)))
        assert all(m.deleted for m in tg.bot_messages(GROUP))
        assert len(tg.calls("deleteMessages")) == 1
        assert not tg.calls("deleteMessage")
