"""Private chats, what no command took: a photo gets buttons (❓ Ask, 🔎 Describe), a text that
answers one of them is a question about the photo, and any other text a pointer to /help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.features.private_chats import hints, photo_buttons
from bot.runtime import BotContext


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """Register after every command; the photo buttons take their texts before the hints."""
    return [*photo_buttons.handlers(), *hints.handlers()]
