"""/ask as a service: fetch the photo, ask the chat's vision model, answer in formatted chunks."""

from __future__ import annotations

import logging

from telegram import Bot, Message, ReplyParameters
from telegram.error import TelegramError

from providers import Kind, Media, ModelEntry, ProviderError, TextResponse, ask_vision

from ..markdown import render_markdown
from ..ratelimit import Priority, sending_as
from ..runtime import Runtime
from . import models
from .common import Rejected, open_job, supervise
from .progress import Clock, chat_action

log = logging.getLogger(__name__)

DEFAULT_QUESTION = "Describe this image."
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # bots may download files up to 20 MB


def photo_source(message: Message) -> Message | None:
    """The message whose image the question is about: this one, or the one it replies to."""
    for candidate in (message, message.reply_to_message):
        if candidate is None:
            continue
        if candidate.photo:
            return candidate
        document = candidate.document
        if document and (document.mime_type or "").startswith("image/"):
            return candidate
    return None


async def download_image(bot: Bot, source: Message) -> Media:
    """The image's bytes through getFile, or Rejected when Telegram will not hand it over."""
    name, mime = "photo.jpg", "image/jpeg"
    if source.photo:
        file_id, size = source.photo[-1].file_id, source.photo[-1].file_size
    elif source.document is not None:
        file_id, size = source.document.file_id, source.document.file_size
        name = source.document.file_name or "image"
        mime = source.document.mime_type or mime
    else:
        raise Rejected("That message has no photo.")
    if size and size > DOWNLOAD_LIMIT:
        raise Rejected(
            "That image is larger than 20 MB, which bots cannot download. Send a smaller one."
        )
    try:
        file = await bot.get_file(file_id)
        data = bytes(await file.download_as_bytearray())
    except TelegramError as error:
        log.warning("photo download failed: %s", error)
        raise Rejected(
            "I could not download that photo from Telegram. Please send it again."
        ) from None
    return Media(data=data, filename=name, content_type=mime)


async def submit(runtime: Runtime, bot: Bot, command: Message, question: str) -> None:
    """Accepts an /ask: replies with a status message and answers in the background."""
    chat_id = command.chat_id
    source = photo_source(command)
    question = question.strip() or (DEFAULT_QUESTION if source else "")
    if not question:
        raise Rejected(
            "Ask me something: send a photo with the caption /ask <question>, reply to a photo "
            "with /ask <question>, or ask with text alone: /ask <question>."
        )
    entry = await models.current(runtime, chat_id, Kind.VISION)
    media = [await download_image(bot, source)] if source else []
    opened = await open_job(
        runtime,
        bot,
        command,
        kind="ask",
        prompt=question,
        model_id=entry.id,
        options={"image": bool(media)},
        waiting="🔎 Looking at the photo…" if media else "💭 Thinking…",
    )
    if opened is None:
        return
    job, status = opened

    async def work(clock: Clock) -> None:
        async with chat_action(bot, chat_id, "typing"):
            answer = await _answer(runtime, entry, question, media)
            await _reply(bot, command, answer)

    runtime.jobs.start(
        job,
        lambda job: supervise(
            runtime,
            job,
            status,
            kind="ask",
            model_id=entry.id,
            work=work,
            undeliverable="I could not send the answer to this chat.",
        ),
    )


async def _answer(runtime: Runtime, entry: ModelEntry, question: str, media: list[Media]) -> str:
    async for event in ask_vision(entry, question, media, runtime.providers):
        if isinstance(event, TextResponse) and event.text.strip():
            return event.text
    raise ProviderError("gave an empty answer", provider=entry.provider.label)


async def _reply(bot: Bot, command: Message, answer: str) -> None:
    reply = ReplyParameters(message_id=command.message_id, allow_sending_without_reply=True)
    with sending_as(Priority.RESULT):  # behind first answers to other commands
        for chunk in render_markdown(answer):
            await bot.send_message(
                command.chat_id, chunk.text, entities=chunk.entities, reply_parameters=reply
            )
