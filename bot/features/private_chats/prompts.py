"""The bot's messages that ask about a photo ("What would you like to know about this
picture?"): a text replying to one is a question about that photo. Kept for a day."""

from __future__ import annotations

from bot.jobs.photos import PhotoRef
from bot.runtime import Runtime

KEEP_FOR = 24 * 3600.0  # seconds a prompt is answerable


async def remember(runtime: Runtime, chat_id: int, message_id: int, ref: PhotoRef) -> None:
    """Notes that the bot's message ``message_id`` asks about the photo ``ref``."""
    await runtime.storage.remember_photo_prompt(
        chat_id, message_id, ref.as_options(), keep_for=KEEP_FOR
    )


async def recall(runtime: Runtime, chat_id: int, message_id: int) -> PhotoRef | None:
    """The photo the bot's message ``message_id`` asks about, if it is a prompt (of the last
    day) for a photo."""
    await runtime.asking.settled(chat_id)
    photo = await runtime.storage.photo_prompt(chat_id, message_id, keep_for=KEEP_FOR)
    return PhotoRef.from_options(photo) if photo is not None else None
