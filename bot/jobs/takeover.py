"""Several replicas, one set of jobs (PostgreSQL): every BEAT_SECONDS each replica says it is
alive, renews the leases of the jobs it runs, stops the jobs a /cancel on another replica
asked to stop, and takes over the jobs of replicas that stopped or died (their leases ran out:
within LEASE_SECONDS + BEAT_SECONDS of the last beat). A graceful stop gives its leases up, so
the others take its jobs over at their next beat. A replica that stalled past its leases finds
at its next beat which of its jobs another one took, and stops them without a word."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from telegram import Bot

from bot.jobs.life import TAKEN_OVER
from bot.jobs.recovery import take_up
from bot.runtime import BEAT_SECONDS, LEASE_SECONDS, Runtime
from bot.storage.records import StorageError

log = logging.getLogger(__name__)

TAKEN_AT_ONCE = 50  # jobs claimed at once; a beat claims again until none is left
UPDATES_KEPT_SECONDS = 26 * 3600  # Telegram resends an update for 24 hours at most
ALIVE_SECONDS = 3 * BEAT_SECONDS  # a replica silent for longer is counted as gone


class Takeover:
    """The beat of one replica (see the module's docstring); :meth:`start` and :meth:`stop`."""

    def __init__(self, runtime: Runtime, bot: Bot) -> None:
        self.runtime = runtime
        self.bot = bot
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._beating(), name="takeover")

    async def stop(self) -> None:
        """Stops beating and hands this replica's unfinished jobs over to the others."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        storage, replica = self.runtime.storage, self.runtime.replica
        handed = await storage.release_leases(replica)
        await storage.forget_replica(replica, before=time.time() - UPDATES_KEPT_SECONDS)
        if handed:
            log.info("replica %s handed %d unfinished job(s) over", replica, handed)

    async def _beating(self) -> None:
        while True:
            try:
                await self.beat()
            except StorageError as error:  # the database is away: the next beat tries again
                log.warning("replica %s could not beat: %s", self.runtime.replica, error)
            except Exception:
                log.exception("replica %s: a beat failed", self.runtime.replica)
            await asyncio.sleep(BEAT_SECONDS)

    async def beat(self) -> None:
        """One beat: alive, leases renewed, cancels asked elsewhere done, orphans taken."""
        runtime = self.runtime
        storage, replica = runtime.storage, runtime.replica
        now = time.time()
        await storage.beat(replica, now)
        for job_id in await storage.renew_leases(replica, now + LEASE_SECONDS, runtime.jobs.ids()):
            log.warning(
                "job %s was taken over while replica %s stalled; it stops here", job_id, replica
            )
            runtime.jobs.cancel_job(job_id, TAKEN_OVER)
        for job_id, reason in await storage.cancels_asked(replica):
            runtime.jobs.cancel_job(job_id, reason)
        while True:  # a chunk at a time: replicas claiming at once share the orphans
            claimed = await storage.claim_orphans(
                replica, now=now, until=time.time() + LEASE_SECONDS, limit=TAKEN_AT_ONCE
            )
            for job_id in claimed:
                await take_up(runtime, self.bot, job_id)
            if len(claimed) < TAKEN_AT_ONCE:
                break
        if now - self._pruned_at > 3600:
            self._pruned_at = now
            await storage.forget_updates(before=now - UPDATES_KEPT_SECONDS)

    async def replicas_alive(self) -> int:
        """How many replicas beat lately (at least this one)."""
        since = time.time() - ALIVE_SECONDS
        return max(1, len(await self.runtime.storage.replicas_alive(since)))
