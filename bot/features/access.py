"""Access control: ALLOWED_USER_IDS / ALLOWED_CHAT_IDS (empty means everyone)."""

from __future__ import annotations

import contextlib

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, ContextTypes, TypeHandler

from bot.i18n import N_, from_telegram, translator
from bot.runtime import runtime_of
from bot.telegram.commands import split_command

REFUSAL = N_("Sorry, this bot is private. Ask its operator to let you in.")


def allowed(update: Update, users: frozenset[int], chats: frozenset[int]) -> bool:
    """Open when both lists are empty; otherwise the user or the chat must be listed."""
    if not users and not chats:
        return True
    user, chat = update.effective_user, update.effective_chat
    return (user is not None and user.id in users) or (chat is not None and chat.id in chats)


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stops updates from outsiders; commands addressed to the bot and inline queries get a
    polite refusal."""
    settings = runtime_of(context).settings
    admins = settings.admin_user_ids
    if allowed(update, settings.allowed_user_ids | admins, settings.allowed_chat_ids):
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


def handler() -> BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]:
    return TypeHandler(Update, gate)
