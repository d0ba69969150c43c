"""/ask as a service: fetch the photo, ask the chat's vision model, answer in formatted chunks.

The job's life around it (queue, status message, outcome, restarts) is bot.lifecycle's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Message
from telegram.error import TelegramError

from bot.i18n import ENGLISH, N_, Translator, translator
from bot.i18n.errors import switched_parts
from bot.jobs.active import ActiveJob, JobFailed, Order, Work
from bot.jobs.life import MAX_RUNS
from bot.jobs.life import submit as start_job
from bot.jobs.rejected import Rejected
from bot.runtime import Runtime, models
from bot.storage.records import JobRow
from bot.telegram import render
from bot.telegram.chat_action import chat_action
from bot.telegram.commands import blank
from bot.telegram.drafts import DraftStream, Rendered, drafts_possible
from bot.telegram.flood import Priority, sending_as
from bot.telegram.markdown import Chunk, render_markdown
from providers import (
    ErrorCode,
    Kind,
    Media,
    ModelEntry,
    ProviderError,
    Switched,
    TextDelta,
    TextResponse,
)
from providers.routing.fallback import ask_with_fallback

log = logging.getLogger(__name__)

DEFAULT_QUESTION = N_("Describe this image.")
THINKING = N_("💭 Thinking…")
LOOKING = N_("🔎 Looking at the photo…")
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # bots may download files up to 20 MB
DRAFTS_PER_JOB = 16  # draft ids: the job's id times this, plus the answering model's round


NOT_AN_IMAGE = {
    "animation": N_("I can read photos and image files; this is a GIF."),
    "video": N_("I can read photos and image files; this is a video."),
    "video_note": N_("I can read photos and image files; this is a video message."),
    "voice": N_("I can read photos and image files; this is a voice message."),
    "audio": N_("I can read photos and image files; this is an audio file."),
    "sticker": N_("I can read photos and image files; this is a sticker."),
    "pdf": N_("I can read photos and image files; this is a PDF."),
    "document": N_("I can read photos and image files; this is a {type} file."),
}
"""What a question about media the models cannot read is told, by the media's kind."""


def not_an_image(message: Message, tr: Translator) -> str | None:
    """Why ``message``'s media cannot be asked about (None: an image, or no media at all)."""
    if message.photo:
        return None
    for kind in ("animation", "video", "video_note", "voice", "audio", "sticker"):
        if getattr(message, kind) is not None:
            return tr.gettext(NOT_AN_IMAGE[kind])
    document = message.document
    if document is None:
        return None
    mime = (document.mime_type or "").lower()
    if mime.startswith("image/"):
        return None
    if mime == "application/pdf" or (document.file_name or "").lower().endswith(".pdf"):
        return tr.gettext(NOT_AN_IMAGE["pdf"])
    name = document.file_name or ""
    extension = name.rpartition(".")[2] if "." in name else ""
    kind = extension.upper() if extension.isalnum() else mime.partition("/")[2] or "?"
    return tr.gettext(NOT_AN_IMAGE["document"]).format(type=kind[:16])


def refuse_other_media(message: Message, tr: Translator) -> None:
    """Rejected when the question is about media that is not an image: on the command's own
    message (its caption) or on the message it replies to."""
    for candidate in (message, message.reply_to_message):
        if candidate is None:
            continue
        if candidate.photo or is_image_file(candidate):
            return
        reason = not_an_image(candidate, tr)
        if reason is not None:
            raise Rejected(reason)


def is_image_file(message: Message) -> bool:
    """An image sent as a file (not a GIF: Telegram makes those MPEG-4 animations)."""
    document = message.document
    return (
        document is not None
        and message.animation is None
        and (document.mime_type or "").startswith("image/")
    )


def photo_source(message: Message) -> Message | None:
    """The message whose image the question is about: this one, or the one it replies to."""
    for candidate in (message, message.reply_to_message):
        if candidate is None:
            continue
        if candidate.photo or is_image_file(candidate):
            return candidate
    return None


@dataclass(frozen=True)
class PhotoRef:
    """Where the photo of a question is on Telegram (stored, so a restart can fetch it again)."""

    file_id: str
    filename: str
    content_type: str

    def as_options(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "filename": self.filename, "mime": self.content_type}

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PhotoRef | None:
        if not options.get("file_id"):
            return None
        return cls(options["file_id"], options.get("filename", "photo.jpg"), options["mime"])


def photo_ref(source: Message, tr: Translator) -> PhotoRef:
    """The photo's file reference, or Rejected when it is not one a bot can download."""
    name, mime = "photo.jpg", "image/jpeg"
    if source.photo:
        file_id, size = source.photo[-1].file_id, source.photo[-1].file_size
    elif source.document is not None:
        file_id, size = source.document.file_id, source.document.file_size
        name = source.document.file_name or "image"
        mime = source.document.mime_type or mime
    else:
        raise Rejected(tr.gettext("That message has no photo."))
    if size and size > DOWNLOAD_LIMIT:
        raise Rejected(
            tr.gettext(
                "That image is larger than 20 MB, which bots cannot download. Send a smaller one."
            )
        )
    return PhotoRef(file_id, name, mime)


async def download_image(bot: Bot, ref: PhotoRef, tr: Translator) -> Media:
    """The image's bytes through getFile, or JobFailed when Telegram will not hand them over."""
    try:
        file = await bot.get_file(ref.file_id)
        data = bytes(await file.download_as_bytearray())
    except TelegramError as error:
        log.warning("photo download failed: %s", error)
        raise JobFailed(
            tr.gettext("I could not download that photo from Telegram. Please send it again.")
        ) from None
    return Media(data=data, filename=ref.filename, content_type=ref.content_type)


async def submit(
    runtime: Runtime, bot: Bot, command: Message, question: str, tr: Translator
) -> None:
    """Accepts an /ask: the job replies (in ``tr``'s language) with a status message and
    answers in the background."""
    refuse_other_media(command, tr)
    source = photo_source(command)
    question = "" if blank(question) else question.strip()
    question = question or (tr.gettext(DEFAULT_QUESTION) if source else "")
    if not question:
        raise Rejected(
            tr.gettext(
                "Ask me something: send a photo with the caption /ask <question>, reply to a "
                "photo with /ask <question>, or ask with text alone: /ask <question>."
            )
        )
    await _start(runtime, bot, command, question, photo_ref(source, tr) if source else None, tr)


async def submit_about(
    runtime: Runtime, bot: Bot, message: Message, ref: PhotoRef, question: str, tr: Translator
) -> None:
    """Accepts a question about the photo ``ref`` (``message`` asks it, and the answer replies
    to it): the same job as an /ask captioned on that photo; an empty question describes it."""
    question = "" if blank(question) else question.strip()
    await _start(runtime, bot, message, question or tr.gettext(DEFAULT_QUESTION), ref, tr)


async def _start(
    runtime: Runtime,
    bot: Bot,
    command: Message,
    question: str,
    ref: PhotoRef | None,
    tr: Translator,
) -> None:
    entry = await models.current(runtime, command.chat_id, Kind.VISION)
    options: dict[str, Any] = {"image": ref is not None, **(ref.as_options() if ref else {})}
    order = Order.of(
        command,
        kind="ask",
        prompt=question,
        model_id=entry.id,
        options=options,
        language=tr.language,
    )
    await start_job(runtime, bot, order, waiting_text(tr, ref), answering(entry, question, ref))


def waiting_text(tr: Translator, ref: PhotoRef | None) -> str:
    """The first status of a question: looking at the photo, or thinking."""
    return tr.gettext(LOOKING) if ref else tr.gettext(THINKING)


Finish = Callable[[ActiveJob, str], Awaitable[None]]
"""What is done with the complete answer (by default: sent as formatted messages)."""


def answering(
    entry: ModelEntry, question: str, ref: PhotoRef | None, finish: Finish | None = None
) -> Work:
    """The work of one /ask: fetch the photo, ask the model, send the answer (or hand it to
    ``finish``)."""

    async def answer(job: ActiveJob) -> None:
        media = [await download_image(job.bot, ref, job.tr)] if ref else []
        async with chat_action(job.bot, job.chat_id, "typing", job.order.thread_id):
            text = await _answer(job, entry, question, media)
            await (finish or _reply)(job, text)

    return answer


async def _answer(job: ActiveJob, entry: ModelEntry, question: str, media: list[Media]) -> str:
    """The model's answer; while it streams, it grows in view (see :class:`_Growing`), and the
    status message says so when the question moves on to a fallback model."""
    runtime, asked, tr = job.runtime, entry, job.tr
    growing = _Growing(job)
    events = ask_with_fallback(
        runtime.candidates(entry), question, media, runtime.providers, runtime.health, job.deadline
    )
    try:
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, Switched):
                    reason, adjustments = switched_parts(tr, event, asked.provider.label)
                    asked = runtime.registry.resolve(event.to_model)
                    job.reached("switched", asked.provider.label)
                    growing.restart(
                        render.switched_text(tr, event, reason, adjustments, asking=True) + "\n"
                    )
                elif isinstance(event, TextDelta):
                    job.reached("answering", asked.provider.label)
                    growing.add(event.text)
                elif isinstance(event, TextResponse) and event.text.strip():
                    return event.text
    finally:
        await growing.close()  # before the answer is sent: nothing may change after it
    raise ProviderError(ErrorCode.EMPTY_ANSWER, provider=asked.provider.label)


class _Growing:
    """Where a streamed answer grows: in a private chat a message draft (formatted, as the
    answer will look), elsewhere, or once Telegram refused drafts, the status message."""

    def __init__(self, job: ActiveJob) -> None:
        self._job = job
        self._notice = ""  # why another model answers, above the answer in the status
        self._partial = ""
        self._round = 1  # each model's answer is a draft of its own
        self._draft: DraftStream | None = None
        if drafts_possible(job.bot, job.chat_id):
            self._draft = DraftStream(
                job.bot,
                job.chat_id,
                self._draft_id(),
                interval=job.runtime.settings.status_edit_interval,
                render=_draft_text,
                on_refused=self._in_status,
                thread_id=job.order.thread_id,
            )

    def _draft_id(self) -> int:
        return self._job.id * DRAFTS_PER_JOB + self._round % DRAFTS_PER_JOB

    def restart(self, notice: str) -> None:
        """Another model answers from scratch; the status says why."""
        self._notice, self._partial = notice, ""
        self._round += 1
        if self._draft is not None:
            self._draft.restart(self._draft_id())
        self._job.show(notice + self._job.tr.gettext(THINKING))

    def add(self, piece: str) -> None:
        self._partial += piece
        draft = self._draft
        if draft is not None and not draft.refused:
            draft.show(self._partial)
        else:
            self._in_status()

    def _in_status(self) -> None:
        if self._partial.strip():
            self._job.show(self._notice + render.growing_answer(self._partial))

    async def close(self) -> None:
        if self._draft is not None:
            await self._draft.close()


def _draft_text(partial: str) -> Rendered | None:
    """The answer so far as its message will look (its last part, if it is long)."""
    chunks = render_markdown(partial)
    return (chunks[-1].text, chunks[-1].entities) if chunks else None


async def _reply(job: ActiveJob, answer: str) -> None:
    for chunk in render_markdown(answer):

        async def send(chat_id: int, chunk: Chunk = chunk) -> Message:
            return await job.bot.send_message(
                chat_id,
                chunk.text,
                entities=chunk.entities,
                reply_parameters=job.reply,
                message_thread_id=job.order.thread_id,
            )

        with sending_as(Priority.RESULT):  # behind first answers to other commands
            await job.send(send)


def resumption(runtime: Runtime, row: JobRow) -> tuple[str, Work] | None:
    """How to answer a stored /ask again after a restart (once), or None if it cannot be."""
    if row.attempts >= MAX_RUNS:
        return None
    try:
        entry = runtime.registry.resolve(row.model, Kind.VISION)
    except ProviderError:
        return None
    ref = PhotoRef.from_options(row.options)
    if row.options.get("image") and ref is None:
        return None
    return waiting_text(translator(row.language or ENGLISH), ref), answering(entry, row.prompt, ref)
