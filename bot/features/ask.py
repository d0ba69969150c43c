"""/ask <question>: as a photo's caption, as a reply to a photo, or as text alone (in private
chats also without the command: see bot.features.photo_buttons)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler

from bot.jobs import ask as service
from bot.runtime import BotContext
from bot.runtime.languages import texts_for
from bot.telegram.commands import CaptionCommand, arguments


async def ask(update: Update, context: BotContext) -> None:
    """Answers the question about the photo (or without one), or says how to ask."""
    message = update.effective_message
    if message is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    question = arguments(message, context.bot.username)
    await service.submit(runtime, context.bot, message, question, tr)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("ask", ask),
        MessageHandler(CaptionCommand("ask"), ask),
    ]
