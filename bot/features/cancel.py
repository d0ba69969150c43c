"""/cancel: stops the caller's running jobs in this chat."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.jobs.life import CANCELLED_BY_USER
from bot.runtime import BotContext
from bot.runtime.languages import texts_for


async def cancel(update: Update, context: BotContext) -> None:
    """Cancels the user's jobs here and says how many; their status messages say "Stopped"."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    count = runtime.jobs.cancel(message.chat_id, user.id, CANCELLED_BY_USER)
    text = (
        tr.ngettext("Cancelling {count} job.", "Cancelling {count} jobs.", count).format(
            count=count
        )
        if count
        else tr.gettext("You have nothing running in this chat.")
    )
    await message.reply_text(text)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler("cancel", cancel)]
