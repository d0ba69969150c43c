"""The command menu (English and Russian) and splitting a command from its arguments."""

from __future__ import annotations

import re

from telegram import BotCommand, Message
from telegram.ext import filters

from bot.i18n import N_, translator

MENU: list[tuple[str, str]] = [
    ("imagine", N_("Draw a picture: /imagine <prompt>")),
    ("model", N_("Show or change this chat's models")),
    ("settings", N_("Aspect ratio, images, spoiler and more for this chat")),
    ("ask", N_("Ask about a photo: /ask <question>")),
    ("describe", N_("Write a prompt that draws a photo like yours")),
    ("cancel", N_("Stop your running jobs")),
    ("providers", N_("Which providers work right now")),
    ("language", N_("English or Russian for this chat")),
    ("help", N_("How to use the bot")),
]


def menu(language: str) -> list[BotCommand]:
    """The command menu with descriptions in ``language``."""
    tr = translator(language)
    return [BotCommand(name, tr.gettext(text)) for name, text in MENU]


COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+|$)", re.S)


def split_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """(command, arguments) when ``text`` starts with a command meant for this bot.

    ``/imagine@OtherBot`` belongs to another bot and gives ``None``; the arguments keep the
    user's own spacing and line breaks.
    """
    match = COMMAND_RE.match(text)
    if match is None:
        return None
    target = match.group(2)
    if target and target.lower() != bot_username.lower():
        return None
    return match.group(1).lower(), text[match.end() :]


def arguments(message: Message, bot_username: str) -> str:
    """The text after the command in the message's text or caption."""
    parsed = split_command(message.text or message.caption or "", bot_username)
    return parsed[1] if parsed else ""


class CaptionCommand(filters.MessageFilter):
    """Media whose caption starts with ``/<command>`` for this bot (CommandHandler only reads
    text)."""

    def __init__(self, command: str) -> None:
        super().__init__(name=f"CaptionCommand({command})")
        self.command = command

    def filter(self, message: Message) -> bool:
        if not message.caption:
            return False
        parsed = split_command(message.caption, message.get_bot().username)
        return parsed is not None and parsed[0] == self.command
