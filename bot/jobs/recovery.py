"""At start-up: finish what a crash, a kill or a restart left behind.

- Status messages of finished jobs that still say "drawing…" get their last words (or go).
- Pictures waiting in the outbox are sent.
- Jobs cut short are run again once, with their stored request (and seed); a job that cannot
  be run again, or was already cut short twice, is closed with a note saying so.

Commands Telegram delivers again after a crash find their stored job and are not run twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import Bot

from bot.i18n import ENGLISH, N_, translator
from bot.jobs import ask, billing, describe, imagine, inline
from bot.jobs.active import Work
from bot.jobs.life import close_stored, resume, settle_stale
from bot.runtime import Runtime
from bot.storage.records import JobRow, JobStatus

log = logging.getLogger(__name__)

RESTART_NOTE = N_("⚠️ Interrupted: the bot restarted; please send your command again.")
RESUMPTIONS: dict[str, Callable[[Runtime, JobRow], tuple[str, Work] | None]] = {
    "imagine": imagine.resumption,
    imagine.EDIT: imagine.resumption,
    "ask": ask.resumption,
    describe.KIND: describe.resumption,
    "inline": inline.resumption,
}


async def recover(runtime: Runtime, bot: Bot) -> None:
    """Settles stale statuses and takes every unfinished job up again (or closes it)."""
    for row in await runtime.storage.unsettled_jobs():
        await settle_stale(runtime, bot, row)
    for row in await runtime.storage.unfinished_jobs():
        if row.status == JobStatus.DELIVERING and row.id not in runtime.outbox.job_ids():
            # Everything was accepted just before the crash; only the record was missing.
            await runtime.storage.update_job(row.id, status=JobStatus.DONE, final_text="")
            await runtime.credits.settle(billing.row_key(row))
            stored = await runtime.storage.get_job(row.id)
            if stored is not None:
                await settle_stale(runtime, bot, stored)
            continue
        plan = RESUMPTIONS[row.kind](runtime, row) if row.kind in RESUMPTIONS else None
        if plan is None:
            log.info("job %s cannot be taken up again; closing it", row.id)
            note = translator(row.language or ENGLISH).gettext(RESTART_NOTE)
            await close_stored(runtime, bot, row, note)
            continue
        waiting, work = plan
        log.info("job %s is taken up again after a restart", row.id)
        resume(runtime, bot, row, waiting, work)
    for job_id in runtime.outbox.job_ids():  # parcels of jobs that are closed: leftovers
        stored = await runtime.storage.get_job(job_id)
        if stored is None or stored.status not in (JobStatus.DELIVERING,):
            await asyncio.to_thread(runtime.outbox.drop, job_id)
