"""/imagine <prompt> [flags]: a status message that follows the job, then the pictures."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes

from ..commands import arguments
from ..flags import FlagError, parse_imagine
from ..runtime import runtime_of
from ..services import imagine as service
from ..services.common import Rejected


async def imagine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts a generation, or replies with what is wrong with the request."""
    message = update.effective_message
    if message is None:
        return
    try:
        args = parse_imagine(arguments(message, context.bot.username))
        await service.submit(runtime_of(context), context.bot, message, args)
    except (FlagError, Rejected) as error:
        await message.reply_text(str(error))


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [CommandHandler("imagine", imagine)]
