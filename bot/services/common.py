"""What the services share: refusing a request politely and admitting a job under the user's cap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

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


def admit(runtime: Runtime, job: Job) -> None:
    """Counts the job against the user's cap, or Rejected saying how many they may run."""
    try:
        runtime.jobs.admit(job)
    except TooManyJobs:
        limit = runtime.settings.max_jobs_per_user
        raise Rejected(
            f"You already have {limit} job{'s' if limit > 1 else ''} running. "
            "Wait for one to finish, or send /cancel."
        ) from None


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
