"""Updates the bot has nothing to do with (channel posts, edited channel posts, reactions,
boosts, polls, business messages, shipping queries, join requests, kinds newer than this
bot...): one DEBUG line each, no reply, no handler after this one sees them."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.runtime import BotContext

log = logging.getLogger(__name__)

HANDLED = frozenset(
    {
        Update.MESSAGE,
        Update.EDITED_MESSAGE,
        Update.CALLBACK_QUERY,
        Update.INLINE_QUERY,
        Update.CHOSEN_INLINE_RESULT,
        Update.MY_CHAT_MEMBER,
        Update.PRE_CHECKOUT_QUERY,
    }
)
"""The update kinds some handler answers; the bot asks Telegram for every kind (the operator may
restrict them), so anything else that arrives ends here."""


def kind_of(update: Update) -> str:
    """The update's kind: the name of its one filled field (``unknown`` for a kind this version
    of python-telegram-bot does not parse)."""
    for kind in Update.ALL_TYPES:
        if getattr(update, kind, None) is not None:
            return kind
    return "unknown"


async def ignore(update: Update, context: BotContext) -> None:
    """Stops an update of a kind no handler takes, quietly."""
    kind = kind_of(update)
    if kind in HANDLED:
        return
    chat = update.effective_chat
    log.debug("update %s (%s%s) ignored", update.update_id, kind, f" in {chat.id}" if chat else "")
    raise ApplicationHandlerStop


def handler() -> BaseHandler[Update, BotContext, None]:
    """Register before every other handler (and before access control: nothing is refused
    where nobody asked)."""
    return TypeHandler(Update, ignore)
