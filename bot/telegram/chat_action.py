"""The chat action ("sending a photo…", "typing…") shown while a job works, repeated until it
ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot.telegram.flood import Priority
from bot.telegram.status import flood_control

CHAT_ACTION_PERIOD = 4.5  # Telegram shows an action for about five seconds.


@contextlib.asynccontextmanager
async def repeating(
    period: float, action: Callable[[], Awaitable[None]], *, first_now: bool
) -> AsyncIterator[None]:
    """Runs ``action`` every ``period`` seconds while the block runs (at once if ``first_now``)."""

    async def repeat() -> None:
        if not first_now:
            await asyncio.sleep(period)
        while True:
            await action()
            await asyncio.sleep(period)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def chat_action(
    bot: Bot, chat_id: int, action: str, thread_id: int | None = None
) -> AbstractAsyncContextManager[None]:
    """Shows ``action`` ("upload_photo", "typing") in the chat (in forum topic ``thread_id``) as
    the block starts, and again every few seconds while it runs, except while the bot's flood
    control holds messages back (for this chat, or answers and results anywhere): the status
    message already tells the user, and under load each repetition costs CPU that the waiting
    messages need. An action counts against the flood budget like a message but never waits
    for it: one that cannot go at once is skipped (it would be stale). A chat that blocked or
    removed the bot is not asked again."""
    flood = flood_control(bot)
    first = True
    refused = False

    async def send() -> None:
        nonlocal first, refused
        if refused or (not first and flood is not None and flood.busy(chat_id)):
            return
        first = False
        permit = (
            flood.turn_now("sendChatAction", chat_id, Priority.STATUS)
            if flood is not None
            else contextlib.nullcontext()
        )
        if permit is None:
            return
        try:
            with permit:
                await bot.send_chat_action(chat_id, action, message_thread_id=thread_id)
        except Forbidden:
            refused = True
        except TelegramError:
            pass

    return repeating(CHAT_ACTION_PERIOD, send, first_now=True)
