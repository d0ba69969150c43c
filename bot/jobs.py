"""Runs jobs as background tasks: a fair queue for the bot's slots, a per-user cap, cancel, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

PositionCallback = Callable[[int], None]


class TooManyJobs(Exception):
    """The user already has as many jobs as allowed."""


@dataclass(eq=False)
class Job:
    """A job known to the runner."""

    chat_id: int
    user_id: int
    id: int = 0
    task: asyncio.Task[None] | None = None
    cancel_reason: str | None = None
    on_position: PositionCallback | None = field(default=None, repr=False)


class JobRunner:
    """At most ``slots`` jobs run at once; the others wait in arrival order and learn their place.

    A user may have at most ``per_user`` jobs queued or running; cancelling and shutting down
    cancel the tasks, whose own code records what happened.
    """

    def __init__(self, slots: int, per_user: int) -> None:
        self._free = slots
        self._per_user = per_user
        self._waiting: list[Job] = []
        self._jobs: list[Job] = []
        self._wakeups: dict[int, asyncio.Event] = {}

    def count(self, user_id: int) -> int:
        return sum(1 for job in self._jobs if job.user_id == user_id)

    def admit(self, job: Job) -> None:
        """Counts the job against its user's cap from now on; raises TooManyJobs when full.

        Call :meth:`start` or :meth:`discard` afterwards.
        """
        if self.count(job.user_id) >= self._per_user:
            raise TooManyJobs
        self._jobs.append(job)

    def discard(self, job: Job) -> None:
        """Forgets an admitted job that will not be started."""
        if job in self._jobs:
            self._jobs.remove(job)

    def start(
        self,
        job: Job,
        work: Callable[[Job], Coroutine[Any, Any, None]],
    ) -> asyncio.Task[None]:
        """Starts ``work(job)`` in the background for an admitted job."""

        async def run() -> None:
            try:
                await work(job)
            except Exception:
                log.exception("job %s crashed", job.id)
            finally:
                self.discard(job)

        job.task = asyncio.create_task(run(), name=f"job-{job.id}")
        return job.task

    @contextlib.asynccontextmanager
    async def slot(self, job: Job) -> AsyncIterator[None]:
        """Waits for a free slot (reporting the queue position through ``job.on_position``)."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            wakeup = self._wakeups[id(job)] = asyncio.Event()
            self._waiting.append(job)
            self._report_positions()
            try:
                await wakeup.wait()
            except BaseException:
                if job in self._waiting:
                    self._waiting.remove(job)
                    self._report_positions()
                else:  # the slot was handed to us just as we were cancelled
                    self._release()
                raise
            finally:
                self._wakeups.pop(id(job), None)
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        if self._waiting:
            nxt = self._waiting.pop(0)
            self._wakeups[id(nxt)].set()
            self._report_positions()
        else:
            self._free += 1

    def _report_positions(self) -> None:
        for position, job in enumerate(self._waiting, start=1):
            if job.on_position is not None:
                job.on_position(position)

    def cancel(self, chat_id: int, user_id: int, reason: str = "cancelled") -> int:
        """Cancels the user's jobs in the chat; returns how many."""
        jobs = [j for j in self._jobs if j.chat_id == chat_id and j.user_id == user_id]
        for job in jobs:
            job.cancel_reason = reason
            if job.task is not None:
                job.task.cancel()
        return len(jobs)

    async def shutdown(self, reason: str) -> None:
        """Cancels every job and waits until each has recorded its end."""
        tasks = []
        for job in list(self._jobs):
            job.cancel_reason = reason
            if job.task is not None:
                job.task.cancel()
                tasks.append(job.task)
        await asyncio.gather(*tasks, return_exceptions=True)
