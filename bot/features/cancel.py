"""/cancel: stops the caller's running jobs in this chat."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.jobs.life import CANCELLED_BY_USER
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext
from bot.runtime.languages import texts_for
from bot.telegram.commands import arguments, no_arguments


async def cancel(update: Update, context: BotContext) -> None:
    """Cancels the user's jobs here and says how many; their status messages say "Stopped"."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    if refusal := no_arguments(tr, "cancel", arguments(message, context.bot.username)):
        raise Rejected(refusal)
    count = runtime.jobs.cancel(message.chat_id, user.id, CANCELLED_BY_USER)
    if runtime.settings.shared:  # jobs other replicas run stop at their next beat
        count += await runtime.storage.ask_cancel(
            message.chat_id, user.id, runtime.replica, CANCELLED_BY_USER
        )
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
