"""Access control: ALLOWED_USER_IDS / ALLOWED_CHAT_IDS (both empty: everyone), and the
operators (ADMIN_USER_IDS), who are always let in: they add rights, never close the bot."""

from __future__ import annotations

import contextlib

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.i18n import N_, from_telegram, translator
from bot.runtime import BotContext
from bot.telegram.commands import split_command

REFUSAL = N_("Sorry, this bot is private. Ask its operator to let you in.")


def allowed(
    update: Update,
    users: frozenset[int],
    chats: frozenset[int],
    operators: frozenset[int] = frozenset(),
) -> bool:
    """Open when both allow-lists are empty; otherwise the user or the chat must be listed.
    An operator is always let in (and never makes an open bot private)."""
    user, chat = update.effective_user, update.effective_chat
    if user is not None and user.id in operators:
        return True
    if not users and not chats:
        return True
    return (user is not None and user.id in users) or (chat is not None and chat.id in chats)


async def gate(update: Update, context: BotContext) -> None:
    """Stops updates from outsiders; commands addressed to the bot and inline queries get a
    polite refusal."""
    settings = context.runtime.settings
    if allowed(
        update, settings.allowed_user_ids, settings.allowed_chat_ids, settings.admin_user_ids
    ):
        return
    user = update.effective_user
    tr = translator(from_telegram(user.language_code if user else None, settings.default_language))
    if update.callback_query is not None:
        await update.callback_query.answer(tr.gettext(REFUSAL), show_alert=True)
    elif update.inline_query is not None:
        refusal = InlineQueryResultArticle(
            id="private",
            title=tr.gettext(REFUSAL),
            input_message_content=InputTextMessageContent(tr.gettext(REFUSAL)),
        )
        with contextlib.suppress(TelegramError):  # too late: a newer query follows
            await update.inline_query.answer([refusal], cache_time=0, is_personal=True)
    elif (message := update.effective_message) is not None:
        text = message.text or message.caption or ""
        if split_command(text, context.bot.username):
            await message.reply_text(tr.gettext(REFUSAL))
    raise ApplicationHandlerStop


def handler() -> BaseHandler[Update, BotContext, None]:
    return TypeHandler(Update, gate)
