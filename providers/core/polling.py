"""Following a job an upstream queued for us: the poll loop, and cancelling it when we give up.

Every polling provider waits out a few transient failures in a row (:class:`TransientFaults`),
since the job itself keeps running upstream, and paces its polls with its own :class:`Pacer`,
which learns how long the provider's jobs take and polls densely only around the expected
finish. fal and Replicate also share :func:`poll`, which
asks for a job's state until the caller has what it needs, and :func:`cancel_quietly`, which
tells the upstream to stop a job we no longer want without letting that last request delay or
break anything else.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from providers.core.errors import ProviderError, ProviderTimeout, ProviderUnavailable, RateLimited

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (ProviderUnavailable, ProviderTimeout, RateLimited)
"""Poll failures worth waiting out: the job itself keeps running upstream meanwhile."""

POLL_RETRIES = 2
"""Transient poll failures tolerated in a row; the next one is raised."""

CANCEL_TIMEOUT = 5.0
"""Seconds a cancel request may take before we stop waiting for it."""

MAX_RETRY_AFTER = 30.0
"""The longest a 429's Retry-After may stretch one pause between polls."""

FIRST_STEP = 0.2
"""Seconds of the first short pause once a job is near (or past) its expected finish."""

STEP_GROWTH = 1.5
"""Each short pause is this much longer than the one before, up to the longest pause."""

REMEMBERED_JOBS = 20
"""How many of a provider's recent job durations its :class:`Pacer` keeps."""

_background: set[asyncio.Task[None]] = set()


class Pacer:
    """How long one provider's jobs take from submission to a finished status, learned from
    its last :data:`REMEMBERED_JOBS` jobs, and the pauses between polls that follow from it.

    One per provider instance (:attr:`providers.base.Provider.pacer`); :meth:`start` gives each
    job its own :class:`PollPace`.
    """

    def __init__(
        self,
        *,
        first: float = FIRST_STEP,
        growth: float = STEP_GROWTH,
        remember: int = REMEMBERED_JOBS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first, self.growth, self.clock = first, growth, clock
        self._durations: deque[float] = deque(maxlen=remember)

    def expected(self) -> float | None:
        """The median duration of the remembered jobs in seconds; None before the first."""
        return statistics.median(self._durations) if self._durations else None

    def learn(self, seconds: float) -> None:
        """One job took ``seconds`` from submission until we saw it finished."""
        self._durations.append(max(0.0, seconds))

    def start(self, longest: float, *, resumed: bool = False) -> PollPace:
        """The pacing of a job submitted now (just before its submit request is sent).

        ``longest`` is the longest pause between two polls (``POLL_INTERVAL``). A ``resumed``
        job was submitted at an unknown time: it is paced as if nothing were learned, and its
        duration is not learned either.
        """
        expected = None if resumed else self.expected()
        return PollPace(self, longest, expected, learn=not resumed)


class PollPace:
    """The pauses before each status poll of one job (see :meth:`Pacer.start`).

    With an expected duration, the pauses wait until :data:`FIRST_STEP` before the expected
    finish; from there (and from the start when nothing is expected yet) they are short steps
    growing by :data:`STEP_GROWTH`. No pause is longer than ``longest``.
    """

    def __init__(
        self, pacer: Pacer, longest: float, expected: float | None, *, learn: bool
    ) -> None:
        self.pacer, self.longest, self.expected = pacer, max(0.0, longest), expected
        self.started = pacer.clock()
        self._step = pacer.first
        self._learn = learn
        self._unfinished_at = 0.0
        # Two short steps apart, with room for the requests' own time.
        self._narrow = pacer.first * pacer.growth + pacer.first / 4

    def elapsed(self) -> float:
        """Seconds since the job was submitted."""
        return self.pacer.clock() - self.started

    def next_pause(self, *, waiting_behind: int = 0) -> float:
        """Seconds to wait before the next poll.

        ``waiting_behind`` is how many jobs the upstream says are ahead of ours in its queue:
        while any are, the job cannot be near its finish and the pause is the longest.
        """
        self._unfinished_at = self.elapsed()
        if waiting_behind > 0:
            return self.longest
        if self.expected is not None:
            until_near = self.expected - self.pacer.first - self.elapsed()
            if until_near > 1e-3:
                return min(until_near, self.longest)
        pause = min(self._step, self.longest)
        if self.expected is None or self.elapsed() >= self.expected:
            self._step *= self.pacer.growth  # steps stay short until the expected finish
        return pause

    def finished(self) -> None:
        """The job's status said it is over: its duration is learned (unless it was resumed).

        The job finished between the previous poll and this one. When those were only a short
        step or two apart, this poll's time is learned. After a longer pause the finish is
        less certain: without an expectation the middle of the pause is learned; with one,
        the job was done at the first poll near its expected finish, so it finishes earlier
        than expected, and one first step earlier than this poll is learned.
        """
        if not self._learn:
            return
        self._learn = False
        seen = self.elapsed()
        if seen - self._unfinished_at > self._narrow:
            if self.expected is None:
                seen = (seen + self._unfinished_at) / 2
            else:
                seen = max(seen - self.pacer.first, self._unfinished_at)
        self.pacer.learn(seen)


async def poll(
    fetch: Callable[[], Awaitable[Any]], next_pause: Callable[[], float]
) -> AsyncGenerator[Any, None]:
    """Yields ``fetch()``'s answers, each fetched after a pause of ``next_pause()`` seconds
    (a :meth:`PollPace.next_pause`), until the caller stops.

    Up to :data:`POLL_RETRIES` transient errors in a row (5xx, 429, network, timeout) are
    waited out, a 429 for at least as long as its Retry-After asks (at most
    :data:`MAX_RETRY_AFTER`); the next one is raised. Other errors are raised at once. There is
    no attempt limit: the caller's job deadline ends a poll that never finishes.
    """
    faults = TransientFaults()
    retry_after = 0.0
    while True:
        pause = max(next_pause(), retry_after)
        if pause:
            await asyncio.sleep(pause)
        retry_after = 0.0
        try:
            answer = await fetch()
        except ProviderError as error:
            faults.absorb(error)
            if isinstance(error, RateLimited) and error.retry_after:
                retry_after = min(error.retry_after, MAX_RETRY_AFTER)
            continue
        faults.reset()
        yield answer


class TransientFaults:
    """Counts transient errors in a row; :meth:`absorb` re-raises once there were too many."""

    def __init__(self, limit: int = POLL_RETRIES) -> None:
        self.limit = limit
        self.in_a_row = 0

    def absorb(self, error: ProviderError) -> None:
        """Returns when ``error`` is transient and within the limit; raises it otherwise."""
        self.in_a_row += 1
        if not isinstance(error, TRANSIENT_ERRORS) or self.in_a_row > self.limit:
            raise error

    def reset(self) -> None:
        """A status request succeeded."""
        self.in_a_row = 0


async def cancel_quietly(cancel: Callable[[], Awaitable[object]], provider: str) -> None:
    """Runs ``cancel()`` (a request asking the upstream to drop a job), shielded from the
    cancellation that is usually under way, for at most :data:`CANCEL_TIMEOUT` seconds.

    Never raises: a failure is logged, since the job is being abandoned anyway. If the caller
    is cancelled again while waiting, the request still finishes in the background.
    """

    async def attempt() -> None:
        try:
            async with asyncio.timeout(CANCEL_TIMEOUT):
                await cancel()
        except (ProviderError, TimeoutError) as error:
            log.warning("%s: cancelling the upstream job failed: %s", provider, error)

    task = asyncio.ensure_future(attempt())
    _background.add(task)
    task.add_done_callback(_background.discard)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        log.info("%s: left the upstream cancel running in the background", provider)
        raise


def same_origin(url: str, root: str) -> bool:
    """Whether ``url`` is on the scheme, host and port of ``root``: the only place our key
    may be sent when an upstream hands us addresses to follow."""
    a, b = urlsplit(url), urlsplit(root)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port) and bool(a.hostname)
