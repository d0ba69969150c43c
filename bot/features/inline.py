"""Inline mode: ``@YourBot a red fox`` in any chat, and what it leaves behind.

- an inline query gets one article (the drawing to come, the usage, or what is wrong);
- the chosen drawing becomes a job whose status and picture are its inline message;
- the "⏹ Stop" button under it stops the job (for the one who asked);
- ◀ ▶ under its pictures turn the message to the others (for anyone who sees it);
- "@YourBot /imagine …" sent as a plain message (Send pressed on the field a result button
  filled in, instead of picking the result) is an /imagine;
- the message a chosen result puts in our own private chat needs no answer.
"""

from __future__ import annotations

import logging

from telegram import Bot, Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.jobs import inline as service
from bot.jobs.life import StopInline
from bot.runtime import BotContext

log = logging.getLogger(__name__)


async def query(update: Update, context: BotContext) -> None:
    """Offers the drawing of what the user typed after @YourBot."""
    if update.inline_query is not None:
        await service.answer(context.runtime, update.inline_query)


async def chosen(update: Update, context: BotContext) -> None:
    """The user sent the drawing to a chat: its message shows the status, then the picture."""
    if update.chosen_inline_result is not None:
        await service.start(
            context.runtime, context.bot, update.chosen_inline_result, update.update_id
        )


async def stop(update: Update, context: BotContext) -> None:
    """The Stop button under an inline job."""
    if update.callback_query is not None:
        await service.stop(context.runtime, update.callback_query)


async def turn(update: Update, context: BotContext) -> None:
    """◀ or ▶ under an inline job's pictures."""
    if update.callback_query is not None:
        await service.turn(context.runtime, update.callback_query)


class _SentViaMe(filters.MessageFilter):
    """A message a user sent through this bot's inline mode."""

    def filter(self, message: Message) -> bool:
        return message.via_bot is not None and message.via_bot.id == message.get_bot().id


async def sent_via_me(update: Update, context: BotContext) -> None:
    """Nothing to say: the inline message itself shows what happens."""


def announce(bot: Bot) -> None:
    """Logs whether inline mode is on, and what else it needs from @BotFather."""
    if bot.supports_inline_queries:
        log.info(
            "inline mode is on: @%s <prompt> draws in any chat; the picture arrives only with "
            "inline feedback on for every result (@BotFather: /setinlinefeedback)",
            bot.username,
        )
    else:
        log.info(
            "inline mode is off; to draw with @%s <prompt> in any chat, turn on inline mode "
            "(@BotFather: /setinline) and inline feedback (/setinlinefeedback)",
            bot.username,
        )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    fresh = ~filters.UpdateType.EDITED
    return [
        InlineQueryHandler(query),
        ChosenInlineResultHandler(chosen),
        CallbackQueryHandler(stop, pattern=StopInline.pattern()),
        CallbackQueryHandler(turn, pattern=service.InlinePage.pattern()),
        MessageHandler(fresh & _SentViaMe(), sent_via_me),
    ]
