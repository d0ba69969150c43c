"""One owner for a job's whole life: admission, record, status reply, queue, run, outcome.

Every way a job can end is decided here, in :func:`_live`:

- done: the status message is removed (the result speaks for itself);
- cancelled (/cancel, at any moment after the command): "⏹ Stopped: cancelled by you.";
- a provider failure or a refusal the user should read: "⚠️ <what happened>";
- the chat blocked or removed the bot: the job (and the chat's other jobs) end quietly;
- Telegram unreachable past the delivery deadline: the pictures wait in the outbox and the job
  is finished at the next start;
- the bot stopping: the job stays resumable and the next start takes it up again;
- anything unexpected: "⚠️ Something went wrong on our side…", with the traceback in the log.

A job started through inline mode has no command and no status message of its own: its
status, outcome and result are edits of the inline message the user sent (:class:`InlineStatus`).

The row is closed (with the status text it must end with) before the status message changes,
so a crash in between is settled at the next start. A service only supplies the work
(events -> status -> deliver) as a coroutine taking the :class:`ActiveJob`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from dataclasses import dataclass
from typing import ClassVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from telegram.error import TelegramError

from bot.i18n import ENGLISH, N_, Translator, translator
from bot.i18n.errors import error_text
from bot.jobs import billing
from bot.jobs.active import ActiveJob, JobFailed, Order, TakenOver, Work
from bot.jobs.job_log import log_job
from bot.jobs.rejected import Rejected
from bot.runtime import LEASE_SECONDS, Runtime
from bot.runtime.queue import Job, TooManyJobs
from bot.storage.records import JobRow, JobStatus, StorageError, StorageFull
from bot.telegram import render
from bot.telegram.callback_data import CallbackData
from bot.telegram.delivery import Undeliverable
from bot.telegram.sending import ChatGone, Postponed
from bot.telegram.status import InlineStatus, LiveStatus, headed
from providers import ErrorCode, InvalidOption, ProviderError, Refused, UnknownModel
from providers.routing.api import OutOfTime

log = logging.getLogger(__name__)

SOMETHING_WRONG = N_("⚠️ Something went wrong on our side. Please try again in a moment.")
DISK_FULL = N_("I cannot save your request right now; try again in a few minutes.")
RESTARTING = "the bot is restarting"
PAUSED = N_("⏸ The bot is restarting; this job continues when it is back.")
POSTPONED = N_(
    "📤 Telegram is not taking the pictures right now; they are saved and will be sent as soon "
    "as the bot can."
)
CHAT_GONE = "the chat blocked or removed the bot"
TAKEN_OVER = "another replica runs it now"  # its lease ran out while this one stalled
CANCELLED_BY_USER = N_("cancelled by you")
RESENDING = N_("📤 Sending the finished pictures…")
RETRY_LATER = 300.0  # seconds between tries of a delivery Telegram kept failing
MAX_RUNS = 2  # a job cut short by a crash or restart is run again once


@dataclass(frozen=True)
class StopInline(CallbackData):
    """The "⏹ Stop" button under an inline job: ``inline:stop`` (the job is the message's)."""

    prefix: ClassVar[str] = "inline:stop"


STOP_INLINE = StopInline().pack()


def stop_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    """The button under an inline job's message that stops it (Telegram tells the bot an inline
    message's id only when the message has a keyboard, so it always has this one)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr.gettext("⏹ Stop"), callback_data=STOP_INLINE)]]
    )


def inline_heading(prompt: str) -> str:
    """The first line of an inline job's message, above its status: what is being drawn."""
    return f"🎨 {render.shorten(prompt, 200)}"


def too_many_jobs(tr: Translator, limit: int) -> str:
    """The refusal of a command over the user's cap."""
    text = tr.ngettext(
        "You already have {limit} job running. Wait for it to finish, or send /cancel.",
        "You already have {limit} jobs running. Wait for one to finish, or send /cancel.",
        limit,
    )
    return text.format(limit=limit)


async def submit(runtime: Runtime, bot: Bot, order: Order, waiting: str, work: Work) -> None:
    """Takes a new command on: the rest of its life runs in the background.

    Raises Rejected when the user already runs as many jobs as allowed (once: further commands
    while still at the cap are ignored; an inline message, which has no other answer, is told
    every time). A command Telegram delivered again after a restart is answered once: the
    stored job carries on (see bot.recovery), the repeat is ignored.
    """
    existing = await runtime.storage.job_for_command(
        order.chat_id, order.command_message_id, order.kind
    )
    if existing is not None:
        log.info(
            "command %s in chat %s was delivered again; ignored",
            order.command_message_id,
            order.chat_id,
        )
        return
    job = Job(chat_id=order.chat_id, user_id=order.user_id)
    tr = translator(order.language)
    elsewhere = 0
    if runtime.settings.shared:  # the user's jobs that other replicas run count too
        elsewhere = await runtime.storage.jobs_elsewhere(
            order.user_id, runtime.replica, time.time()
        )
    try:
        runtime.jobs.admit(job, elsewhere=elsewhere)
    except TooManyJobs as error:
        if error.already_told and order.inline_message_id is None:
            return
        raise Rejected(too_many_jobs(tr, runtime.settings.max_jobs_per_user)) from None
    try:
        cost = await billing.reserve(runtime, order, tr)
    except Rejected:
        runtime.jobs.discard(job)
        raise
    if cost:
        waiting = f"{waiting} · {billing.cost_text(tr, cost)}"
    runtime.jobs.start(job, lambda job: _live(runtime, bot, job, order, waiting, work))


def resume(runtime: Runtime, bot: Bot, row: JobRow, waiting: str, work: Work) -> None:
    """Takes a stored job up again after a restart (outside the user's cap)."""
    job = Job(chat_id=row.chat_id, user_id=row.user_id, id=row.id)
    runtime.jobs.admit(job, over_cap=True)
    runtime.jobs.start(
        job, lambda job: _live(runtime, bot, job, Order.of_row(row), waiting, work, row)
    )


@dataclass
class _End:
    """How a job ended: the row's status and error, and the status message's last words."""

    status: JobStatus
    error: str | None = None
    text: str = ""  # "" = remove the status message
    quiet: bool = False  # say nothing (the chat is gone)
    keep_open: bool = False  # leave the row for the next start (restart, outage)
    abandoned: bool = False  # another replica runs it now: touch neither its row nor the chat
    # For the log line: how it ended, the failure's code and its reason (see _log_end).
    outcome: str = ""  # "" = from the status: delivered, cancelled, paused, postponed, failed
    code: str | None = None
    reason: str | None = None
    failure: bool = False  # logged at WARNING


async def _live(
    runtime: Runtime,
    bot: Bot,
    job: Job,
    order: Order,
    waiting: str,
    work: Work,
    row: JobRow | None = None,
) -> None:
    active = ActiveJob(runtime, bot, job, order)
    if order.inline_message_id is not None:  # its status message is there from the start
        active.status = _inline_status(active, order.inline_message_id)
    tr = active.tr
    job.on_position = lambda position: active.show(
        render.waiting_text(tr, order.model_id, position)
    )
    end = _End(JobStatus.FAILED)
    try:
        if row is None:
            job_id = await runtime.storage.create_job(
                kind=order.kind,
                chat_id=order.chat_id,
                user_id=order.user_id,
                command_message_id=order.command_message_id,
                prompt=order.prompt,
                model=order.model_id,
                options=order.options,
                thread_id=order.thread_id,
                language=order.language,
                inline_message_id=order.inline_message_id,
                lease=(runtime.replica, time.time() + LEASE_SECONDS),
            )
            if job_id is None:
                return  # the same command, delivered again meanwhile: already being answered
            job.id = job_id
        await _announce(active, waiting, row.status_message_id if row else None)
        async with runtime.jobs.slot(job):
            active.clock.reset()
            active.reached("running")
            await runtime.storage.start_attempt(job.id)
            await work(active)
        end = _End(JobStatus.DONE)
    except asyncio.CancelledError:
        end = _cancelled(tr, job.cancel_reason)
        end.reason = job.cancel_reason
    except OutOfTime as error:
        allowed = min(runtime.settings.job_deadline, runtime.settings.job_timeout)
        text = render.out_of_time_text(tr, error, allowed)
        end = _End(JobStatus.FAILED, error.user_message, text)
        _provider_failure(active, end, error)
    except ProviderError as error:
        text = render.failure_text(tr, error_text(tr, error))
        end = _End(JobStatus.FAILED, error.user_message, text)
        _provider_failure(active, end, error)
    except JobFailed as error:
        end = _End(JobStatus.FAILED, str(error), _warning(str(error)))
        end.code, end.reason, end.failure = "JobFailed", str(error), True
    except Undeliverable as error:
        end = _End(JobStatus.FAILED, str(error), _warning(error.text(tr)))
        end.code, end.reason, end.failure = "Undeliverable", error.reason, True
    except TakenOver:
        end = _cancelled(tr, TAKEN_OVER)
    except ChatGone as error:
        end = _End(JobStatus.FAILED, f"{CHAT_GONE}: {error}", quiet=True)
        end.outcome, end.code, end.reason = "chat_gone", "ChatGone", f"{CHAT_GONE}: {error}"
        runtime.jobs.cancel_chat(job.chat_id, CHAT_GONE, sparing=job)
    except StorageFull as error:  # the operator was told once (bot.storage.full)
        end = _End(JobStatus.FAILED, str(error), _warning(tr.gettext(DISK_FULL)))
        end.code, end.reason = "StorageFull", str(error)
    except Postponed as error:
        end = _End(JobStatus.DELIVERING, text=tr.gettext(POSTPONED), keep_open=True)
        end.code, end.failure = "Postponed", True
        end.reason = f"Telegram kept failing ({error}); delivery postponed"
    except Exception:
        log.exception("job %s failed unexpectedly", job.id)
        end = _End(JobStatus.FAILED, "unexpected error (see the log)", tr.gettext(SOMETHING_WRONG))
        end.outcome, end.failure = "error", True
        end.code = type(sys.exc_info()[1]).__name__
    if end.abandoned:
        _log_end(active, end)
        runtime.jobs.ended(job)
        if active.status is not None:
            active.status.abandon()
        return
    await _bill(active, end)
    await _close(active, end)  # the runner forgets the job after this
    if end.status == JobStatus.DELIVERING:
        runtime.jobs.later(RETRY_LATER, lambda: _deliver_later(runtime, bot, job.id))


async def _bill(active: ActiveJob, end: _End) -> None:
    """Charges a job that delivered, gives the hold of one that ended otherwise back; a job
    left open (a restart, an outage) keeps its hold for the next start."""
    try:
        if end.status == JobStatus.DONE:
            await billing.settle(active)
        elif not end.keep_open:
            await active.runtime.credits.release(billing.key_of(active.order))
    except StorageError as error:
        log.error("job %s: could not settle its credits: %s", active.id, error)


async def _deliver_later(runtime: Runtime, bot: Bot, job_id: int) -> None:
    """Tries a postponed delivery again (the outage may be over)."""
    row = await runtime.storage.get_job(job_id)
    if row is None or row.status != JobStatus.DELIVERING:
        return
    now = time.time()
    if runtime.settings.shared and not await runtime.storage.claim_job(
        job_id, runtime.replica, now=now, until=now + LEASE_SECONDS
    ):
        return  # another replica took it over meanwhile and delivers it
    if job_id in await runtime.outbox.job_ids():
        waiting = translator(row.language or ENGLISH).gettext(RESENDING)
        resume(runtime, bot, row, waiting, lambda job: job.deliver_saved(job_id))


def _provider_failure(active: ActiveJob, end: _End, error: ProviderError) -> None:
    """Fills the log fields of a job a provider failed (or refused)."""
    code = getattr(error, "code", None)
    end.code = str(code) if code else type(error).__name__
    end.reason = str(error)
    # A refusal (moderation, a safety checker) or the user's mistake: not the provider's fault.
    if error.code == ErrorCode.SAFETY_CHECKER or isinstance(
        error, InvalidOption | UnknownModel | Refused
    ):
        end.outcome = "refused"
    else:
        end.failure = True
    if error.provider:
        active.provider = error.provider
    stage = getattr(error, "stage", None)
    if stage is not None:
        active.stage = str(stage)


_OUTCOMES = {
    JobStatus.DONE: "delivered",
    JobStatus.CANCELLED: "cancelled",
    JobStatus.RUNNING: "paused",
    JobStatus.DELIVERING: "postponed",
}


def _log_end(active: ActiveJob, end: _End) -> None:
    """The job's one line saying how it ended (failures at WARNING; see log_job)."""
    order = active.order
    outcome = end.outcome or _OUTCOMES.get(end.status, "failed")
    log_job(
        active.id,
        order.kind,
        active.chat_id,
        order.model_id,
        active.clock.elapsed,
        outcome,
        provider=active.provider,
        stage="delivered" if outcome == "delivered" else active.stage,
        code=end.code,
        reason=end.reason,
        prompt=order.prompt if active.runtime.settings.log_prompts else None,
        level=logging.WARNING if end.failure else logging.INFO,
    )


def _warning(text: str) -> str:
    return text if text.startswith(("⚠️", "⏹")) else f"⚠️ {text}"


def _cancelled(tr: Translator, reason: str | None) -> _End:
    if reason == RESTARTING or reason is None:
        return _End(JobStatus.RUNNING, text=tr.gettext(PAUSED), keep_open=True)
    if reason == CHAT_GONE:
        return _End(JobStatus.FAILED, reason, quiet=True)
    if reason == TAKEN_OVER:
        return _End(JobStatus.RUNNING, reason, quiet=True, abandoned=True, outcome="taken_over")
    text = tr.gettext("⏹ Stopped: {reason}.").format(reason=tr.gettext(reason))
    return _End(JobStatus.CANCELLED, reason, text)


def _inline_status(active: ActiveJob, inline_message_id: str) -> InlineStatus:
    return InlineStatus(
        active.bot,
        inline_message_id,
        active.runtime.settings.status_edit_interval,
        heading=inline_heading(active.order.prompt),
        markup=stop_keyboard(active.tr),
    )


async def _announce(active: ActiveJob, text: str, message_id: int | None) -> None:
    """Puts the status message up: the stored one again after a restart, else a new reply
    (an inline job's status is its inline message)."""
    runtime, bot = active.runtime, active.bot
    interval = runtime.settings.status_edit_interval
    if isinstance(active.status, InlineStatus):
        active.status.show(text)
        return
    if message_id is not None:
        active.status = LiveStatus(bot, active.chat_id, message_id, interval)
        active.status.show(text)
        return
    message: Message = await active.send(
        lambda chat_id: bot.send_message(
            chat_id,
            text,
            reply_parameters=active.reply,
            message_thread_id=active.order.thread_id,
        )
    )
    # Followed before it is recorded: if recording fails, the ending still edits it.
    active.status = LiveStatus(bot, active.chat_id, message.message_id, interval, shown=text)
    await runtime.storage.update_job(active.id, status_message_id=message.message_id)


async def _close(active: ActiveJob, end: _End) -> None:
    """Records the end, then makes the status message say it (or go)."""
    runtime, order = active.runtime, active.order
    if not active.id:
        found = await runtime.storage.job_for_command(
            order.chat_id, order.command_message_id, order.kind
        )
        if found is None and end.code == "StorageFull":  # it could not even be recorded
            _log_end(active, end)
            with contextlib.suppress(ChatGone, Postponed, TelegramError):
                await _settle(active, end.text)
            return
        if found is None or found.status_message_id is not None or found.attempts:
            return  # nothing was recorded (or it is someone else's run)
        active._job.id = found.id
    try:
        if end.keep_open:
            await runtime.storage.update_job(active.id, final_text=end.text)
        else:
            await runtime.storage.update_job(
                active.id, status=end.status, error=end.error, final_text=end.text
            )
    except StorageError as error:  # the user is still told; the next start settles the row
        if not isinstance(error, StorageFull):  # a full disk was told to the operator once
            log.error("job %s: could not record its end: %s", active.id, error)
        text = end.text or active.tr.gettext(SOMETHING_WRONG)
        end = _End(JobStatus.FAILED, text=text, quiet=end.quiet, failure=True)
        end.code, end.reason = "StorageError", str(error)
    _log_end(active, end)
    runtime.jobs.ended(active._job)  # the user's cap is free while the status is settled
    if end.quiet:
        if active.status is not None:
            active.status.abandon()
    else:
        try:
            await _settle(active, end.text)
        except (ChatGone, Postponed, TelegramError) as error:
            log.warning("job %s: could not update its status message: %s", active.id, error)
            return
    if not end.keep_open:
        with contextlib.suppress(StorageError):
            await runtime.storage.update_job(active.id, status_settled=1)


async def _settle(active: ActiveJob, text: str) -> None:
    status = active.status
    if status is None:
        if text:  # the job ended before its status reply went out: answer the command
            bot = active.bot
            await active.send(
                lambda chat_id: bot.send_message(
                    chat_id,
                    text,
                    reply_parameters=active.reply,
                    message_thread_id=active.order.thread_id,
                )
            )
        return
    if text:
        await status.finish(text)
    elif not await status.remove():
        done = active.tr.gettext("✅ Done in {duration}.")
        duration = render.elapsed_summary(active.tr, active.clock.elapsed)
        await status.finish(done.format(duration=duration))


async def settle_stale(runtime: Runtime, bot: Bot, row: JobRow) -> None:
    """A finished job whose status message was not updated before a crash: update it now."""
    if row.inline_message_id is not None:
        if row.final_text:  # "" = its result is in place
            with contextlib.suppress(TelegramError):
                await bot.edit_message_text(
                    headed(inline_heading(row.prompt), row.final_text),
                    inline_message_id=row.inline_message_id,
                )
    elif row.status_message_id is not None and row.final_text is not None:
        text = row.final_text
        with contextlib.suppress(TelegramError):
            if text:
                await bot.edit_message_text(
                    text, chat_id=row.chat_id, message_id=row.status_message_id
                )
            else:
                await bot.delete_message(row.chat_id, row.status_message_id)
    await runtime.storage.update_job(row.id, status_settled=1)


async def close_stored(runtime: Runtime, bot: Bot, row: JobRow, note: str) -> None:
    """Ends a stored job that cannot be taken up again, saying ``note`` where the user looks
    (what it reserved is given back)."""
    await runtime.storage.update_job(
        row.id, status=JobStatus.FAILED, error="interrupted", final_text=note
    )
    await runtime.credits.release(billing.row_key(row))
    reply = ReplyParameters(row.command_message_id, allow_sending_without_reply=True)
    with contextlib.suppress(TelegramError):
        if row.inline_message_id is not None:
            await bot.edit_message_text(
                headed(inline_heading(row.prompt), note), inline_message_id=row.inline_message_id
            )
        elif row.status_message_id is not None:
            await bot.edit_message_text(note, chat_id=row.chat_id, message_id=row.status_message_id)
        else:
            await bot.send_message(
                row.chat_id, note, reply_parameters=reply, message_thread_id=row.thread_id
            )
    await runtime.storage.update_job(row.id, status_settled=1)
