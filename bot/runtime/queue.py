"""The jobs in memory: a fair queue for the bot's slots, a per-user cap, cancel, move, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

PositionCallback = Callable[[int], None]


class TooManyJobs(Exception):
    """The user already has as many jobs as allowed.

    ``already_told`` is true when the user was refused for this since their last job ended,
    so a flood of commands gets one answer, not one each.
    """

    def __init__(self, already_told: bool) -> None:
        super().__init__("too many jobs")
        self.already_told = already_told


@dataclass(eq=False)
class Job:
    """A job known to the runner; ``chat_id`` follows the chat if it moves."""

    chat_id: int
    user_id: int
    id: int = 0
    task: asyncio.Task[None] | None = None
    cancel_reason: str | None = None
    on_position: PositionCallback | None = field(default=None, repr=False)
    running: bool = False
    shown_position: int | None = None
    ended: bool = False  # its outcome is decided; only its status message is being settled


class JobRunner:
    """At most ``slots`` jobs run at once; the others wait and learn their place in line.

    A user may have at most ``per_user`` jobs queued or running. A free slot goes to the
    waiting job whose user has the fewest jobs running (the oldest first among equals), so one
    member's burst cannot hold a group's other members back. Cancelling and stopping cancel the
    tasks, whose own code records what happened.
    """

    def __init__(self, slots: int, per_user: int) -> None:
        self._free = slots
        self._per_user = per_user
        self._waiting: list[Job] = []
        self._jobs: list[Job] = []
        self._wakeups: dict[int, asyncio.Event] = {}
        self._refused: set[tuple[int, int]] = set()
        self._timers: set[asyncio.Task[None]] = set()
        self._running_by_user: Counter[int] = Counter()

    def count(self, user_id: int) -> int:
        """The user's jobs that count against the cap (queued, running, delivering)."""
        return sum(1 for job in self._jobs if job.user_id == user_id and not job.ended)

    def holds(self, job_id: int) -> bool:
        """Whether a job with this id is running (or waiting) in this process."""
        return any(job.id == job_id for job in self._jobs)

    def ids(self) -> list[int]:
        """The stored ids of the jobs running (or waiting) in this process."""
        return [job.id for job in self._jobs if job.id]

    def admit(self, job: Job, *, over_cap: bool = False, elsewhere: int = 0) -> None:
        """Counts the job against its user's cap from now on; raises TooManyJobs when full,
        counting ``elsewhere`` jobs the user runs on other replicas (unless ``over_cap``: jobs
        resumed after a restart are always taken back).

        Call :meth:`start` or :meth:`discard` afterwards.
        """
        if not over_cap and self.count(job.user_id) + elsewhere >= self._per_user:
            key = (job.chat_id, job.user_id)
            told = key in self._refused
            self._refused.add(key)
            raise TooManyJobs(already_told=told)
        self._jobs.append(job)

    def ended(self, job: Job) -> None:
        """The job's outcome is decided (its pictures are out, say): it no longer counts against
        its user's cap or can be cancelled, while its status message is still being settled."""
        job.ended = True
        self._refused = {key for key in self._refused if key[1] != job.user_id}

    def discard(self, job: Job) -> None:
        """Forgets a job that ended (or will not be started)."""
        if job in self._jobs:
            self._jobs.remove(job)
            self._refused = {key for key in self._refused if key[1] != job.user_id}

    def start(
        self, job: Job, work: Callable[[Job], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        """Starts ``work(job)`` in the background for an admitted job."""

        async def run() -> None:
            try:
                await work(job)
            except Exception:
                log.exception("job %s crashed", job.id)
            finally:
                self.discard(job)

        job.task = asyncio.create_task(run(), name=f"job-{job.id or 'new'}")
        return job.task

    def later(self, delay: float, action: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Runs ``action`` after ``delay`` seconds, unless the bot stops first."""

        async def wait_then_run() -> None:
            await asyncio.sleep(delay)
            try:
                await action()
            except Exception:
                log.exception("a delayed action failed")

        task = asyncio.create_task(wait_then_run(), name="later")
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

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
        job.running = True
        self._running_by_user[job.user_id] += 1
        try:
            yield
        finally:
            job.running = False
            self._running_by_user[job.user_id] -= 1
            self._release()

    def _running(self, user_id: int) -> int:
        return self._running_by_user[user_id]

    def _release(self) -> None:
        if self._waiting:
            nxt = min(self._waiting, key=lambda job: self._running(job.user_id))
            self._waiting.remove(nxt)
            self._wakeups[id(nxt)].set()
            self._report_positions()
        else:
            self._free += 1

    def _report_positions(self) -> None:
        """Tells waiting jobs their place when it changed enough to be worth a status edit:
        every step in the last ten places, else a tenth of the way forward (a long line moves
        by one place per finished job; an edit for each would only cost budget and CPU)."""
        order = sorted(self._waiting, key=lambda job: self._running(job.user_id))
        for position, job in enumerate(order, start=1):
            last = job.shown_position
            worth = last is None or (
                position != last and (position <= 10 or position <= last * 0.9)
            )
            if job.on_position is not None and worth:
                job.shown_position = position
                job.on_position(position)

    def _cancel(self, jobs: list[Job], reason: str) -> int:
        jobs = [job for job in jobs if not job.ended]
        for job in jobs:
            job.cancel_reason = reason
            if job.task is not None:
                job.task.cancel()
        return len(jobs)

    def cancel(self, chat_id: int, user_id: int, reason: str = "cancelled") -> int:
        """Cancels the user's jobs in the chat, at whatever stage they are; returns how many."""
        return self._cancel(
            [j for j in self._jobs if j.chat_id == chat_id and j.user_id == user_id], reason
        )

    def cancel_job(self, job_id: int, reason: str) -> int:
        """Cancels the one job with this stored id, if it is still here; returns how many."""
        return self._cancel([j for j in self._jobs if j.id == job_id], reason)

    def cancel_chat(self, chat_id: int, reason: str, *, sparing: Job | None = None) -> int:
        """Cancels every job in the chat (but ``sparing``); returns how many."""
        return self._cancel(
            [j for j in self._jobs if j.chat_id == chat_id and j is not sparing], reason
        )

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """The chat's jobs now answer in ``new_chat_id`` (a group became a supergroup)."""
        for job in self._jobs:
            if job.chat_id == old_chat_id:
                job.chat_id = new_chat_id

    async def shutdown(self, reason: str, grace: float = 0.0) -> None:
        """Lets jobs finish for up to ``grace`` seconds, then cancels the rest and waits until
        each has recorded how it ended."""
        for timer in list(self._timers):
            timer.cancel()
        tasks = [job.task for job in self._jobs if job.task is not None]
        if tasks and grace > 0:
            log.info("waiting up to %g s for %d job(s) to finish", grace, len(tasks))
            await asyncio.wait(tasks, timeout=grace)
        for job in list(self._jobs):
            if job.task is not None and not job.task.done():
                job.cancel_reason = reason
                job.task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
