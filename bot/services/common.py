"""What the services share: refusing a request politely and admitting a job under the user's cap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telegram import Bot, Message
from telegram.error import TelegramError

from providers import ProviderError

from .. import render
from ..jobs import Job, TooManyJobs
from ..runtime import Runtime
from ..status import LiveStatus
from ..storage import JobStatus
from .progress import Clock, log_job

log = logging.getLogger(__name__)


class Rejected(Exception):
    """The request cannot be accepted; ``str(error)`` is the reply for the user."""


async def open_job(
    runtime: Runtime,
    bot: Bot,
    command: Message,
    *,
    kind: str,
    prompt: str,
    model_id: str,
    options: Mapping[str, Any],
    waiting: str,
) -> tuple[Job, LiveStatus] | None:
    """Admits the job under the user's cap, records it and replies with its status message.

    Rejected when the user already runs as many jobs as allowed; ``None`` when Telegram
    delivered this command again after a restart (it was handled then).
    """
    user_id = command.from_user.id if command.from_user else command.chat_id
    job = Job(chat_id=command.chat_id, user_id=user_id)
    try:
        runtime.jobs.admit(job)
    except TooManyJobs:
        limit = runtime.settings.max_jobs_per_user
        raise Rejected(
            f"You already have {limit} job{'s' if limit > 1 else ''} running. "
            "Wait for one to finish, or send /cancel."
        ) from None
    try:
        job_id = await runtime.storage.create_job(
            kind=kind,
            chat_id=command.chat_id,
            user_id=user_id,
            command_message_id=command.message_id,
            prompt=prompt,
            model=model_id,
            options=options,
        )
        if job_id is None:
            runtime.jobs.discard(job)
            return None
        job.id = job_id
        message = await command.reply_text(waiting)
    except BaseException:
        runtime.jobs.discard(job)
        if job.id:
            await runtime.storage.update_job(job.id, status=JobStatus.FAILED, error="not started")
        raise
    await runtime.storage.update_job(job.id, status_message_id=message.message_id)
    return job, LiveStatus(bot, message, runtime.settings.status_edit_interval)


async def supervise(
    runtime: Runtime,
    job: Job,
    status: LiveStatus,
    *,
    kind: str,
    model_id: str,
    work: Callable[[Clock], Awaitable[None]],
    undeliverable: str,
) -> None:
    """Runs ``work`` in one of the bot's slots and records and shows how it ended.

    Success removes the status message (the result speaks for itself); a cancel, a provider
    failure or Telegram refusing the result leaves a status saying so. The job row is updated
    before the status message changes.
    """
    clock = Clock()
    outcome, error_text, shown = JobStatus.FAILED, "", ""
    try:
        async with runtime.jobs.slot(job):
            clock.reset()
            await runtime.storage.update_job(job.id, status=JobStatus.RUNNING)
            await work(clock)
        outcome = JobStatus.DONE
    except asyncio.CancelledError:
        outcome, error_text = JobStatus.CANCELLED, job.cancel_reason or "cancelled"
        shown = f"⏹ Stopped: {error_text}."
    except ProviderError as error:
        error_text = error.user_message
        shown = render.failure_text(error_text)
    except TelegramError as error:
        log.warning("job %s: Telegram refused the result: %s", job.id, error)
        error_text, shown = f"Telegram: {error}", render.failure_text(undeliverable)
    await runtime.storage.update_job(job.id, status=outcome, error=error_text or None)
    log_job(job.id, kind, job.chat_id, model_id, clock.elapsed, outcome)
    if outcome != JobStatus.DONE:
        await status.finish(shown)
    elif not await status.remove():
        await status.finish(f"✅ Done in {render.elapsed_summary(clock.elapsed)}.")
