"""/imagine <prompt> [flags]: a status message that follows the job, then the pictures.

With a picture (its caption) or replying to one, /imagine edits that picture (bot.jobs.edit).

"@YourBot /imagine …" sent as a plain message (what the inline ✏️ button leads to) is the same."""

from __future__ import annotations

import re

from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.jobs import edit, photos
from bot.jobs import imagine as service
from bot.jobs.flags import parse_imagine
from bot.runtime import BotContext
from bot.runtime.languages import texts_for
from bot.telegram.commands import CaptionCommand, arguments, split_command

MENTION_RE = re.compile(r"^@([A-Za-z0-9_]{3,64})\s+(?=/)")


async def imagine(update: Update, context: BotContext) -> None:
    """Starts a generation, or replies (in the chat's language) with what is wrong."""
    message = update.effective_message
    if message is None:
        return
    await draw(update, context, arguments(message, context.bot.username))


async def draw(update: Update, context: BotContext, text: str) -> None:
    """/imagine with ``text`` as what follows the command (the prompt and its flags)."""
    message = update.effective_message
    if message is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    source = photos.photo_source(message)
    if source is not None:  # with or replying to a picture: that picture is edited
        args = parse_imagine(text, tr, edit=True)
        refs = photos.refs_of([source], tr)
        await edit.submit(runtime, context.bot, message, refs, args, tr, from_imagine=True)
        return
    args = parse_imagine(text, tr)
    await service.submit(runtime, context.bot, message, args, tr)


class _MentionThenImagine(filters.MessageFilter):
    """Text that starts with "@<this bot> /imagine"."""

    def filter(self, message: Message) -> bool:
        text = message.text or ""
        match = MENTION_RE.match(text)
        if match is None or match.group(1).lower() != message.get_bot().username.lower():
            return False
        command = split_command(text[match.end() :], match.group(1))
        return command is not None and command[0] == "imagine"


async def mentioned_imagine(update: Update, context: BotContext) -> None:
    """ "@YourBot /imagine a fox" sent as a message: the /imagine it spells."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    text = MENTION_RE.sub("", message.text, count=1)
    parsed = split_command(text, context.bot.username)
    await draw(update, context, parsed[1] if parsed else "")


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    fresh = ~filters.UpdateType.EDITED
    return [
        CommandHandler("imagine", imagine),
        MessageHandler(fresh & CaptionCommand("imagine"), imagine),
        MessageHandler(fresh & filters.TEXT & _MentionThenImagine(), mentioned_imagine),
    ]
