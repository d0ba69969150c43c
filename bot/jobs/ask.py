"""/ask as a service: fetch the photo, ask the chat's vision model, answer in formatted chunks.

The job's life around it (queue, status message, outcome, restarts) is bot.lifecycle's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, Message

from bot.i18n import ENGLISH, N_, Translator, translator
from bot.i18n.errors import switched_parts
from bot.jobs import photos
from bot.jobs.active import ActiveJob, Order, Work
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
DRAFTS_PER_JOB = 16  # draft ids: the job's id times this, plus the answering model's round


async def submit(
    runtime: Runtime, bot: Bot, command: Message, question: str, tr: Translator
) -> None:
    """Accepts an /ask: the job replies (in ``tr``'s language) with a status message and
    answers in the background."""
    photos.refuse_other_media(command, tr)
    source = photos.photo_source(command)
    question = "" if blank(question) else question.strip()
    question = question or (tr.gettext(DEFAULT_QUESTION) if source else "")
    if not question:
        raise Rejected(
            tr.gettext(
                "Ask me something: send a photo with the caption /ask <question>, reply to a "
                "photo with /ask <question>, or ask with text alone: /ask <question>."
            )
        )
    await _start(
        runtime, bot, command, question, photos.photo_ref(source, tr) if source else None, tr
    )


async def submit_about(
    runtime: Runtime,
    bot: Bot,
    message: Message,
    ref: photos.PhotoRef,
    question: str,
    tr: Translator,
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
    ref: photos.PhotoRef | None,
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


def waiting_text(tr: Translator, ref: photos.PhotoRef | None) -> str:
    """The first status of a question: looking at the photo, or thinking."""
    return tr.gettext(LOOKING) if ref else tr.gettext(THINKING)


Finish = Callable[[ActiveJob, str], Awaitable[None]]
"""What is done with the complete answer (by default: sent as formatted messages)."""


def answering(
    entry: ModelEntry, question: str, ref: photos.PhotoRef | None, finish: Finish | None = None
) -> Work:
    """The work of one /ask: fetch the photo, ask the model, send the answer (or hand it to
    ``finish``)."""

    async def answer(job: ActiveJob) -> None:
        media = [await photos.download_image(job.bot, ref, job.tr)] if ref else []
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
    ref = photos.PhotoRef.from_options(row.options)
    if row.options.get("image") and ref is None:
        return None
    return waiting_text(translator(row.language or ENGLISH), ref), answering(entry, row.prompt, ref)
