"""/cancel: stops the caller's running jobs in this chat."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes

from ..runtime import runtime_of


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancels the user's jobs here and says how many; their status messages say "Stopped"."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    count = runtime_of(context).jobs.cancel(message.chat_id, user.id, "cancelled by you")
    text = (
        f"Cancelling {count} job{'s' if count != 1 else ''}."
        if count
        else "You have nothing running in this chat."
    )
    await message.reply_text(text)


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [CommandHandler("cancel", cancel)]
