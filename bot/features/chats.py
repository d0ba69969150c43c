"""Telegram's chat lifecycle: a group upgraded to a supergroup keeps its models and jobs."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, ContextTypes, MessageHandler, filters

from ..chats import move_chat
from ..runtime import runtime_of


async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The service message of a group's upgrade (in the old or the new chat): move its data."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        await move_chat(runtime_of(context), message.chat_id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id:
        await move_chat(runtime_of(context), message.migrate_from_chat_id, message.chat_id)


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [MessageHandler(filters.StatusUpdate.MIGRATE, migrated)]
