"""/imagine <prompt> [flags]: a status message that follows the job, then the pictures."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes

from bot.jobs import imagine as service
from bot.jobs.flags import FlagError, parse_imagine
from bot.jobs.rejected import Rejected
from bot.runtime import runtime_of
from bot.runtime.languages import texts_for
from bot.telegram.commands import arguments


async def imagine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts a generation, or replies (in the chat's language) with what is wrong."""
    message = update.effective_message
    if message is None:
        return
    await draw(update, context, arguments(message, context.bot.username))


async def draw(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """/imagine with ``text`` as what follows the command (the prompt and its flags)."""
    message = update.effective_message
    if message is None:
        return
    runtime = runtime_of(context)
    tr = await texts_for(runtime, update)
    try:
        args = parse_imagine(text, tr)
        await service.submit(runtime, context.bot, message, args, tr)
    except (FlagError, Rejected) as error:
        await message.reply_text(str(error))


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [CommandHandler("imagine", imagine)]
