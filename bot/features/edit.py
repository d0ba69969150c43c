"""Pictures from pictures: every way a user asks to change their pictures.

- ``/edit <instruction>`` as the caption of a photo (or image file), or as a reply to one (the
  bot's own results included);
- in a private chat, a photo with the instruction as its caption; in a group, a caption that
  names the bot (``@YourBot make it winter``);
- an album of 2-10 pictures with one caption: one job, the pictures in message order;
- a reply to the bot's 🖌 prompt ("What should I change in this picture?"), which the 🖌
  buttons under results and photos put up.

``/imagine`` as a reply to a photo is an edit too (bot.features.imagine); a plain text reply
to a picture in a private chat as well (bot.features.private_chats).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.i18n import N_
from bot.jobs import edit as service
from bot.jobs import photos
from bot.jobs.flags import parse_imagine
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext
from bot.runtime.languages import texts_for
from bot.telegram.commands import CaptionCommand, arguments, split_command
from providers import Kind

HOW_TO = N_(
    "Send a photo with the caption /edit <what to change>, or reply to a photo with "
    "/edit <what to change>. For example: /edit make it winter"
)
ALBUM_NO_EDITS = N_(
    "To ask about one of these pictures, reply to it with your question; /describe as a reply "
    "to one writes a prompt that draws something like it."
)
ALBUM_WITHOUT_WORDS = N_(
    "To change these pictures, send them again with a caption saying what to do, such as "
    "“put the cat on this sofa”."
)
ALBUM_QUIET = 1.0  # seconds after an album's last picture before it is taken as complete
ALBUM_MAX = 10  # pictures Telegram puts in one album


@dataclass
class _Album:
    messages: list[Message]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class Albums:
    """Telegram sends an album as separate messages sharing ``media_group_id``: this gathers
    them, for the handler of the first one to arrive."""

    def __init__(self, quiet: float = ALBUM_QUIET) -> None:
        self.quiet = quiet
        self._open: dict[str, _Album] = {}

    async def gather(self, message: Message) -> list[Message] | None:
        """Every message of ``message``'s album in message order, once none has arrived for
        :attr:`quiet` seconds, to the first message's handler; None to the others'."""
        key = f"{message.chat_id}:{message.media_group_id}"
        album = self._open.get(key)
        if album is not None:
            album.messages.append(message)
            album.arrived.set()
            return None
        album = self._open[key] = _Album([message])
        try:
            while True:
                album.arrived.clear()
                try:
                    await asyncio.wait_for(album.arrived.wait(), self.quiet)
                except TimeoutError:
                    break
        finally:
            del self._open[key]
        return sorted(album.messages, key=lambda m: m.message_id)


albums = Albums()


def instruction(message: Message, bot_username: str, *, private: bool) -> str | None:
    """What ``message``'s caption asks to change: the words after ``/edit``, the caption of a
    private chat's photo, or a group's caption naming the bot (without the name); None when
    the caption asks nothing of an edit (another command, or words for someone else)."""
    caption = message.caption or ""
    mention = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)
    named = mention.search(caption) is not None
    words = mention.sub("", caption).strip()
    if words.startswith("/"):  # "/edit …" (or "@bot /edit …"); any other command is not ours
        parsed = split_command(words, bot_username)
        return parsed[1] if parsed is not None and parsed[0] == "edit" else None
    if private or named:
        return words or None
    return None


async def _start(
    update: Update, context: BotContext, pictures: Sequence[Message], text: str
) -> None:
    """An edit of ``pictures`` by the words in ``text`` (its flags too), answering the message
    that said it; Rejected (told by the error handler) when it cannot be done."""
    message = update.effective_message
    if message is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    args = parse_imagine(text, tr, edit=True)
    refs = photos.refs_of(pictures, tr)
    await service.submit(runtime, context.bot, message, refs, args, tr)


async def edit_command(update: Update, context: BotContext) -> None:
    """``/edit <instruction>`` with a photo or replying to one (an album's caption gathers
    the album first)."""
    message = update.effective_message
    if message is None:
        return
    if message.media_group_id is not None:
        await album_part(update, context)
        return
    tr = await texts_for(context.runtime, update)
    photos.refuse_other_media(message, tr)
    source = photos.photo_source(message)
    if source is None:
        raise Rejected(tr.gettext(HOW_TO))
    await _start(update, context, [source], arguments(message, context.bot.username))


async def captioned_photo(update: Update, context: BotContext) -> None:
    """A photo whose caption says what to change (private chats; groups: naming the bot)."""
    message = update.effective_message
    if message is None:
        return
    if message.media_group_id is not None:
        await album_part(update, context)
        return
    private = message.chat.type == "private"
    words = instruction(message, context.bot.username, private=private) or ""
    await _start(update, context, [message], words)


async def album_part(update: Update, context: BotContext) -> None:
    """One picture of an album: the first to arrive gathers the album and edits all of its
    pictures by the caption (one job); an album without words gets a hint in a private chat."""
    message = update.effective_message
    if message is None:
        return
    gathered = await albums.gather(message)
    if gathered is None:
        return
    private = message.chat.type == "private"
    username = context.bot.username
    worded = [m for m in gathered if instruction(m, username, private=private) is not None]
    if not worded:
        if private:
            tr = await texts_for(context.runtime, update)
            edits = Kind.EDIT in context.runtime.defaults
            await gathered[0].reply_text(
                tr.gettext(ALBUM_WITHOUT_WORDS if edits else ALBUM_NO_EDITS)
            )
        return
    words = instruction(worded[0], username, private=private) or ""
    await _start(update, context, gathered[:ALBUM_MAX], words)


async def prompt_answer(update: Update, context: BotContext) -> None:
    """A reply to the bot's 🖌 prompt: the instruction for the picture it asked about."""
    message = update.effective_message
    prompt = message.reply_to_message if message is not None else None
    if message is None or prompt is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    ref = await service.recall_prompt(runtime, prompt)
    if ref is None:
        raise Rejected(tr.gettext(service.PROMPT_GONE))
    args = parse_imagine(message.text or "", tr, edit=True)
    await service.submit(runtime, context.bot, message, [ref], args, tr)


class _CaptionAsksEdit(filters.MessageFilter):
    """A picture whose caption asks this bot for an edit (see :func:`instruction`)."""

    def filter(self, message: Message) -> bool:
        private = message.chat.type == "private"
        return instruction(message, message.get_bot().username, private=private) is not None


class _RepliesToPrompt(filters.MessageFilter):
    """A text replying to the bot's own 🖌 prompt."""

    def filter(self, message: Message) -> bool:
        prompt = message.reply_to_message
        return (
            prompt is not None
            and prompt.from_user is not None
            and prompt.from_user.id == message.get_bot().id
            and prompt.text in service.prompt_texts()
        )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """Register before the other features that take photos and replies (ask, describe, the
    private chats' photo buttons)."""
    fresh = ~filters.UpdateType.EDITED
    picture = filters.PHOTO | filters.Document.IMAGE
    return [
        CommandHandler("edit", edit_command),
        MessageHandler(fresh & CaptionCommand("edit"), edit_command),
        MessageHandler(fresh & picture & _CaptionAsksEdit(), captioned_photo),
        MessageHandler(fresh & picture & ~filters.CAPTION & _InAlbum(), album_part),
        MessageHandler(fresh & filters.TEXT & ~filters.COMMAND & _RepliesToPrompt(), prompt_answer),
    ]


class _InAlbum(filters.MessageFilter):
    """A message that is part of an album."""

    def filter(self, message: Message) -> bool:
        return message.media_group_id is not None
