"""At start-up: finish what a crash, a kill or a restart left behind.

- Status messages of finished jobs that still say "drawing…" get their last words (or go).
- Pictures waiting in the outbox are sent.
- Jobs cut short are run again once, with their stored request (and seed); a job that cannot
  be run again, or was already cut short twice, is closed with a note saying so.

Commands Telegram delivers again after a crash find their stored job and are not run twice.
With several replicas (PostgreSQL), a job is taken up by whichever replica claims it first
once its own replica stopped or died (see bot.jobs.takeover).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from telegram import Bot

from bot.i18n import ENGLISH, N_, translator
from bot.jobs import ask, billing, describe, imagine, inline
from bot.jobs.active import Work
from bot.jobs.life import close_stored, resume, settle_stale
from bot.runtime import LEASE_SECONDS, Runtime
from bot.storage.records import UNFINISHED, JobRow, JobStatus

log = logging.getLogger(__name__)

RESTART_NOTE = N_("⚠️ Interrupted: the bot restarted; please send your command again.")
RESUMPTIONS: dict[str, Callable[[Runtime, JobRow], tuple[str, Work] | None]] = {
    "imagine": imagine.resumption,
    imagine.EDIT: imagine.resumption,
    "ask": ask.resumption,
    describe.KIND: describe.resumption,
    "inline": inline.resumption,
}


TAKEN_AT_START = 10_000  # unfinished jobs a start takes up at most (the rest: by the takeover)


async def recover(runtime: Runtime, bot: Bot) -> None:
    """Settles stale statuses and takes up again (or closes) every unfinished job no running
    replica holds: with SQLite, every one (this is the only process); with PostgreSQL, those
    whose replica stopped or whose lease ran out."""
    for row in await runtime.storage.unsettled_jobs():
        await settle_stale(runtime, bot, row)
    now = time.time()
    if runtime.settings.shared:
        await runtime.storage.release_leases(runtime.replica)  # a previous run under this name
    else:
        now = math.inf  # every lease left in the file is a previous run's
        for job_id in await runtime.outbox.job_ids():  # parcels of closed jobs: leftovers
            stored = await runtime.storage.get_job(job_id)
            if stored is None or stored.status != JobStatus.DELIVERING:
                await runtime.outbox.drop(job_id)
    for job_id in await runtime.storage.claim_orphans(
        runtime.replica, now=now, until=time.time() + LEASE_SECONDS, limit=TAKEN_AT_START
    ):
        await take_up(runtime, bot, job_id)


async def take_up(runtime: Runtime, bot: Bot, job_id: int) -> None:
    """Runs a job this replica just claimed again from where it stopped (by its upstream id),
    delivers its waiting parcel, or closes it with a note when it cannot be run again."""
    if runtime.jobs.holds(job_id):
        return  # its lease ran out while it ran here (a stalled beat): it carries on
    row = await runtime.storage.get_job(job_id)
    if row is None or row.status not in UNFINISHED:
        return
    if row.status == JobStatus.DELIVERING and row.id not in await runtime.outbox.job_ids():
        # Everything was accepted just before the crash; only the record was missing.
        await runtime.storage.update_job(row.id, status=JobStatus.DONE, final_text="")
        await runtime.credits.settle(billing.row_key(row))
        stored = await runtime.storage.get_job(row.id)
        if stored is not None:
            await settle_stale(runtime, bot, stored)
        return
    plan = RESUMPTIONS[row.kind](runtime, row) if row.kind in RESUMPTIONS else None
    if plan is None:
        log.info("job %s cannot be taken up again; closing it", row.id)
        note = translator(row.language or ENGLISH).gettext(RESTART_NOTE)
        await close_stored(runtime, bot, row, note)
        return
    waiting, work = plan
    log.info("job %s is taken up again by replica %s", row.id, runtime.replica)
    resume(runtime, bot, row, waiting, work)
