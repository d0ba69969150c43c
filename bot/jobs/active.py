"""A job while it lives: the order it was given (:class:`Order`, from a command or a stored
row) and the handle its work gets (:class:`ActiveJob`: its status, its chat, delivery)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)

from bot.i18n import ENGLISH, N_, Translator, translator
from bot.jobs.moves import move_chat
from bot.jobs.progress import Clock
from bot.pictures.prepare import Picture
from bot.runtime import LEASE_SECONDS, Runtime
from bot.runtime.queue import Job
from bot.storage.outbox import Buttons, Delivered
from bot.storage.records import JobRow, JobStatus
from bot.telegram.delivery import Look, Undeliverable, deliver
from bot.telegram.sending import ChatGone, persistently
from bot.telegram.status import InlineStatus, LiveStatus
from providers import ProviderError

log = logging.getLogger(__name__)

PICTURES_LOST = N_("⚠️ The finished pictures were lost; please send your command again.")


class JobFailed(Exception):
    """Ends the job with ``str(error)`` shown as its outcome (a sentence for the user, already
    in the job's language: see :attr:`ActiveJob.tr`)."""


class TakenOver(Exception):
    """Another replica runs the job now (this one stalled past its lease): it stops here
    without a word, leaving the chat and the job's row to that replica."""


@dataclass(frozen=True)
class Order:
    """A command as its job keeps it: enough to answer it again after a restart.

    An inline-mode job has ``inline_message_id``: it answers in that message, ``chat_id`` is
    the user's private chat (whose model, settings and /cancel apply) and
    ``command_message_id`` the id of the update that chose the result (what makes a
    redelivered update recognisable).
    """

    kind: str
    chat_id: int
    user_id: int
    command_message_id: int
    thread_id: int | None
    prompt: str
    model_id: str
    options: Mapping[str, Any] = field(default_factory=dict)
    language: str = ENGLISH
    inline_message_id: str | None = None

    @classmethod
    def of(
        cls,
        command: Message,
        *,
        kind: str,
        prompt: str,
        model_id: str,
        options: Mapping[str, Any],
        language: str,
        user_id: int | None = None,
    ) -> Order:
        """The order ``command`` makes (for ``user_id`` when the bot wrote it on their
        behalf, after a button press)."""
        if user_id is None:
            user_id = command.from_user.id if command.from_user else command.chat_id
        return cls(
            kind=kind,
            chat_id=command.chat_id,
            user_id=user_id,
            command_message_id=command.message_id,
            thread_id=command.message_thread_id if command.is_topic_message else None,
            prompt=prompt,
            model_id=model_id,
            options=dict(options),
            language=language,
        )

    @classmethod
    def of_row(cls, row: JobRow) -> Order:
        return cls(
            kind=row.kind,
            chat_id=row.chat_id,
            user_id=row.user_id,
            command_message_id=row.command_message_id,
            thread_id=row.thread_id,
            prompt=row.prompt,
            model_id=row.model,
            options=row.options,
            language=row.language or ENGLISH,
            inline_message_id=row.inline_message_id,
        )


class ActiveJob:
    """What a service's work sees: where to answer, the status line, the clock, delivery."""

    def __init__(self, runtime: Runtime, bot: Bot, job: Job, order: Order) -> None:
        self.runtime = runtime
        self.bot = bot
        self.order = order
        self.clock = Clock()
        self.status: LiveStatus | None = None
        self.tr: Translator = translator(order.language)
        """The job's texts, in the language of the chat (or of the user) that asked."""
        self._job = job
        self.stage = "waiting"
        """How far the job got (for the log line at its end): waiting (for a slot), running,
        the upstream's own stages when the work reports them, accepted, delivering."""
        self.provider: str | None = None
        """The provider working on the job (for the log line at its end)."""
        self.charge: tuple[int, str] | None = None
        """What the job is charged when it ends delivered: credits and the provider that drew
        (None: the whole of what it reserved; see bot.jobs.billing)."""
        with contextlib.suppress(ProviderError):
            self.provider = runtime.registry.resolve(order.model_id).provider.label

    def reached(self, stage: str, provider: str | None = None) -> None:
        """Notes how far the job got (and which provider has it now) for its end's log line."""
        self.stage = str(stage)
        if provider is not None:
            self.provider = provider

    @property
    def id(self) -> int:
        return self._job.id

    @property
    def deadline(self) -> float:
        """When the job's upstream time is up (JOB_DEADLINE after it started running, or
        JOB_TIMEOUT if shorter; loop time): the providers, every fallback and the result
        downloads share it."""
        settings = self.runtime.settings
        return self.clock.start + min(settings.job_deadline, settings.job_timeout)

    @property
    def chat_id(self) -> int:
        """The chat to answer in (it changes if the group becomes a supergroup meanwhile)."""
        return self._job.chat_id

    async def moved(self, new_chat_id: int) -> None:
        """Telegram said the chat moved: follow it, with the chat's settings and jobs."""
        old_chat_id = self._job.chat_id
        if self.status is not None and new_chat_id != old_chat_id:
            self.status.abandon()  # the old group's messages can no longer be edited
        await move_chat(self.runtime, old_chat_id, new_chat_id)
        self._job.chat_id = new_chat_id

    @property
    def reply(self) -> ReplyParameters:
        """Replies quote the command (and still arrive if it was deleted or left behind)."""
        return ReplyParameters(self.order.command_message_id, allow_sending_without_reply=True)

    def show(self, text: str) -> None:
        """Shows ``text`` on the status message soon (paced; never blocks)."""
        if self.status is not None:
            self.status.show(text)

    def delivery_deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.runtime.settings.delivery_deadline

    async def send(self, call: Callable[[int], Awaitable[Any]]) -> Any:
        """``call(chat_id)`` through Telegram's transient faults (see bot.sending)."""
        return await persistently(call, self, deadline=self.delivery_deadline())

    async def become(
        self, media: InputMediaPhoto | InputMediaDocument, markup: InlineKeyboardMarkup | None
    ) -> None:
        """An inline job's message becomes ``media`` (a file_id or a URL: an inline message
        takes no upload) with ``markup`` under it, through Telegram's transient faults.
        Recorded at once as delivering with nothing left in the outbox: a crash from here on
        finishes the job, never redraws."""
        status = self.status
        if not isinstance(status, InlineStatus):
            raise TypeError("only an inline job's message can become its result")
        self.reached("delivering")
        await self.send(lambda _chat_id: status.become(media, markup))
        await self.runtime.storage.update_job(self.id, status=JobStatus.DELIVERING)

    async def remember_upstream(self, upstream_job_id: str) -> None:
        """Stores the upstream's id for this job (what a resume after a restart needs)."""
        self.reached("accepted")
        await self.runtime.storage.update_job(self.id, upstream_job_id=upstream_job_id)

    async def deliver(
        self, pictures: list[Picture], caption: str, look: Look, buttons: Buttons | None
    ) -> None:
        """Keeps the pictures in the outbox, then sends them (behind a spoiler, the caption
        above them, as ``look`` says) with ``buttons`` under them; they stay until Telegram
        took them all (or refused them)."""
        outbox = self.runtime.outbox
        self.reached("delivering")
        parcel = await outbox.put(
            self.id,
            pictures,
            caption,
            spoiler=look.spoiler,
            caption_above=look.caption_above,
            buttons=buttons,
        )
        await self.runtime.storage.update_job(self.id, status=JobStatus.DELIVERING)
        await self.deliver_saved(parcel.job_id)

    async def deliver_saved(self, job_id: int) -> None:
        """Sends what the outbox still holds for this job (after a restart, say) and records
        where the pictures landed (the buttons under them need it)."""
        runtime, outbox = self.runtime, self.runtime.outbox
        self.reached("delivering")
        now = time.time()
        if runtime.settings.shared and not await runtime.storage.claim_job(
            job_id, runtime.replica, now=now, until=now + LEASE_SECONDS
        ):
            raise TakenOver  # sending too would show the pictures twice
        parcel = await outbox.get(job_id)
        if parcel is None:
            raise JobFailed(self.tr.gettext(PICTURES_LOST))

        async def record(delivered: dict[int, Delivered]) -> None:
            pictures = [[d.message_id, d.file_id] for _, d in sorted(delivered.items())]
            await self.runtime.storage.add_result(job_id, pictures=pictures)

        try:
            await deliver(
                self.bot,
                outbox,
                parcel,
                self,
                reply_to=self.order.command_message_id,
                thread_id=self.order.thread_id,
                deadline=self.delivery_deadline(),
                landed=record,
            )
        except (Undeliverable, ChatGone):
            await outbox.drop(job_id)
            raise
        await outbox.drop(job_id)


Work = Callable[[ActiveJob], Awaitable[None]]
