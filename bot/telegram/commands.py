"""The command menu (English and Russian) and splitting a command from its arguments."""

from __future__ import annotations

import re
import unicodedata

from telegram import BotCommand, Message
from telegram.ext import filters

from bot.i18n import N_, Translator, translator

MENU: list[tuple[str, str]] = [
    ("imagine", N_("Draw a picture: /imagine <prompt>")),
    ("edit", N_("Change a photo: /edit <what to change>, with or replying to it")),
    ("model", N_("Show or change this chat's models")),
    ("settings", N_("Aspect ratio, images, spoiler and more for this chat")),
    ("ask", N_("Ask about a photo: /ask <question>")),
    ("describe", N_("Write a prompt that draws a photo like yours")),
    ("cancel", N_("Stop your running jobs")),
    ("providers", N_("Which providers work right now")),
    ("balance", N_("Your credits and what pictures cost here")),
    ("buy", N_("Buy credits with Telegram Stars")),
    ("language", N_("English or Russian for this chat")),
    ("help", N_("How to use the bot")),
]


CREDIT_COMMANDS = ("balance", "buy")
"""Menu commands that only mean something where credits are counted (FREE_CREDITS)."""


def menu(language: str, *, credits: bool = True) -> list[BotCommand]:
    """The command menu with descriptions in ``language`` (without /balance and /buy where
    ``credits`` are not counted)."""
    tr = translator(language)
    return [
        BotCommand(name, tr.gettext(text))
        for name, text in MENU
        if credits or name not in CREDIT_COMMANDS
    ]


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


ARGUMENT_LIMIT = 100  # characters after a command that takes a name: a model, a setting, ...
QUOTED = 40  # characters of a refused argument quoted back to the user


def quoted(text: str, limit: int = QUOTED) -> str:
    """The start of what the user sent, on one line, cut with "…" past ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def too_long(tr: Translator, command: str, sent: str, limit: int = ARGUMENT_LIMIT) -> str | None:
    """The refusal of ``sent`` after ``/<command>`` when it is over ``limit`` characters: the
    limit and what was sent, cut (None when it fits)."""
    if len(sent) <= limit:
        return None
    text = tr.gettext(
        "The text after /{command} is too long: at most {limit} characters, and you sent "
        "{count}: “{start}”."
    )
    return text.format(command=command, limit=limit, count=len(sent), start=quoted(sent))


def no_arguments(tr: Translator, command: str, sent: str) -> str | None:
    """The refusal of anything after ``/<command>``, a command that takes nothing (None when
    nothing was sent)."""
    if not sent.strip():
        return None
    text = tr.gettext(
        "/{command} takes nothing after it (you sent “{start}”). Send /{command} alone."
    )
    return text.format(command=command, start=quoted(sent))


# Shown as nothing, though not whitespace: variation selectors, the combining grapheme joiner,
# the Hangul fillers and the blank Braille pattern (format characters are found by category).
_BLANK = frozenset(
    [chr(c) for c in range(0xFE00, 0xFE10)]
    + [chr(c) for c in range(0xE0100, 0xE01F0)]
    + ["\u034f", "\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"]
)


def blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only whitespace and invisible characters (zero-width
    space, joiners, the byte order mark, the word joiner, variation selectors, ...)."""
    return all(c.isspace() or c in _BLANK or unicodedata.category(c) in ("Cf", "Cc") for c in text)
