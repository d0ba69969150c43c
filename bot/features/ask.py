"""/ask <question>: as a photo's caption, as a reply to a photo, or as text alone (in private
chats also without the command: see bot.features.photo_buttons)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.jobs import ask as service
from bot.jobs.rejected import Rejected
from bot.runtime import runtime_of
from bot.runtime.languages import texts_for
from bot.telegram.commands import CaptionCommand, arguments


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers the question about the photo (or without one), or says how to ask."""
    message = update.effective_message
    if message is None:
        return
    runtime = runtime_of(context)
    tr = await texts_for(runtime, update)
    try:
        question = arguments(message, context.bot.username)
        await service.submit(runtime, context.bot, message, question, tr)
    except Rejected as error:
        await message.reply_text(str(error))


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [
        CommandHandler("ask", ask),
        MessageHandler((filters.PHOTO | filters.Document.IMAGE) & CaptionCommand("ask"), ask),
    ]
