"""Private chats: a text no handler took (an unknown command, a text that is not a question
about a photo) gets a pointer to what works. Photos get buttons (photo_buttons.py)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.i18n import N_
from bot.runtime import BotContext
from bot.runtime.languages import texts_for

TEXT_HINT = N_("Send /imagine <prompt> to draw something, or /help to see everything I can do.")
UNKNOWN = N_("I don't know that command. Send /help to see what I can do.")


async def hint(update: Update, context: BotContext) -> None:
    """Replies with the command that does what the user probably wants."""
    message = update.effective_message
    if message is None:
        return
    text = UNKNOWN if (message.text or "").startswith("/") else TEXT_HINT
    tr = await texts_for(context.runtime, update)
    await message.reply_text(tr.gettext(text))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """Register after every command: handlers earlier in the group take precedence."""
    private = filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED
    return [MessageHandler(private & filters.TEXT, hint)]
