"""Following a job an upstream queued for us: the poll loop, and cancelling it when we give up.

Every polling provider waits out a few transient failures in a row (:class:`TransientFaults`),
since the job itself keeps running upstream, and paces its polls with its own :class:`Pacer`,
which knows how long the provider's jobs take per model and stage (from earlier runs, else the
provider's declared typical duration, then from every job it sees, and from what an upstream says
of its queue, eta or progress) and polls densely only around the expected finish. fal and
Replicate also share :func:`poll`, which
asks for a job's state until the caller has what it needs, and :func:`cancel_quietly`, which
tells the upstream to stop a job we no longer want without letting that last request delay or
break anything else.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
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
"""How many of a model's recent job durations its :class:`Pacer` keeps."""

COLD_COHORT = 0.618_033_988_749_895
"""Spreads the first polls of jobs started together before anything is learned (golden ratio:
each new job's first poll falls in the largest gap the others left)."""

DONE, QUEUED = "done", "queued"
"""The stages a Pacer learns: submission to a finished status; submission to leaving the
upstream's queue (the first status that says it is drawing)."""

_background: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class StageFigures:
    """What a :class:`Pacer` learned about one stage of one model's jobs, as a store keeps it:
    the seconds of its most recent jobs, the oldest first."""

    provider: str
    model: str
    stage: str
    seconds: tuple[float, ...]


class PaceStore(Protocol):
    """Where the pacers' figures outlive the process (the bot's database)."""

    async def load_paces(self) -> list[StageFigures]: ...

    async def save_paces(self, figures: Sequence[StageFigures]) -> None: ...


async def load_paces(store: PaceStore, pacers: Mapping[str, Pacer]) -> None:
    """Gives each pacer (by its provider's name) the figures ``store`` kept for it."""
    kept = await store.load_paces()
    for name, pacer in pacers.items():
        pacer.load(figure for figure in kept if figure.provider == name)


async def save_paces(store: PaceStore, pacers: Mapping[str, Pacer]) -> None:
    """Keeps in ``store`` what the pacers (by their providers' names) learned since the last
    save; nothing is written when none learned anything."""
    figures = [
        figure for name, pacer in pacers.items() if pacer.dirty for figure in pacer.figures(name)
    ]
    if figures:
        await store.save_paces(figures)


class _Model:
    """One model's learned stage durations, and what its jobs in flight share meanwhile."""

    def __init__(self, remember: int) -> None:
        self.stages: dict[str, deque[float]] = {
            DONE: deque(maxlen=remember),
            QUEUED: deque(maxlen=remember),
        }
        self.unfinished: deque[float] = deque(maxlen=4 * remember)
        self.finished_at: float | None = None  # the latest finish learned, seconds after submission
        self.cold_started = 0  # jobs started since, with nothing learned
        self.changed = asyncio.Event()

    def median(self, stage: str) -> float | None:
        found = self.stages[stage]
        return statistics.median(found) if found else None

    def learn(self, stage: str, seconds: float) -> None:
        self.stages[stage].append(max(0.0, seconds))
        if stage == DONE:
            self.finished_at = max(0.0, seconds)
            self.cold_started = 0
            self.changed.set()  # wakes this model's waiting jobs, which look again
            self.changed = asyncio.Event()


class Pacer:
    """How long one provider's jobs take, per model and stage, and the pauses between polls
    that follow from it.

    Before a model's first job ends, the pacer uses what a store kept from earlier runs
    (:meth:`load`), else the provider's declared ``typical`` seconds. Jobs in flight share what
    they see: the first finish wakes the others of the model, which poll at once if they are as
    old as it was; jobs started together before anything is learned spread their first polls
    over the longest pause, so that one of them sees the first finish soon after it happens.

    One per provider instance (:attr:`providers.core.provider.Provider.pacer`); :meth:`start`
    gives each job its own :class:`PollPace`.
    """

    def __init__(
        self,
        *,
        typical: float | None = None,
        typical_by_model: Mapping[str, float] | None = None,
        first: float = FIRST_STEP,
        growth: float = STEP_GROWTH,
        remember: int = REMEMBERED_JOBS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first, self.growth, self.clock = first, growth, clock
        self.typical, self.typical_by_model = typical, dict(typical_by_model or {})
        self.remember = remember
        self._models: dict[str, _Model] = {}
        self.dirty = False
        """Something was learned since :meth:`figures` was last taken."""

    def model(self, name: str = "") -> _Model:
        found = self._models.get(name)
        if found is None:
            found = self._models[name] = _Model(self.remember)
        return found

    def expected(self, model: str = "") -> float | None:
        """The median duration of the model's remembered jobs in seconds, else its declared
        typical duration; None when neither is known."""
        learned = self.model(model).median(DONE)
        if learned is not None:
            return learned
        return self.typical_by_model.get(model, self.typical)

    def learned(self, model: str = "") -> bool:
        """Whether a job of this model was seen finished (in this run or one kept)."""
        return bool(self.model(model).stages[DONE])

    def learn(self, seconds: float, model: str = "", stage: str = DONE) -> None:
        """One job of ``model`` took ``seconds`` from submission until it reached ``stage``
        (``DONE``: we saw it finished)."""
        self.model(model).learn(stage, seconds)
        self.dirty = True

    def load(self, figures: Iterable[StageFigures]) -> None:
        """Takes what a store kept (the figures of this provider only, by its caller)."""
        for figure in figures:
            if figure.stage in (DONE, QUEUED):
                for seconds in figure.seconds[-self.remember :]:
                    self.model(figure.model).stages[figure.stage].append(max(0.0, seconds))

    def figures(self, provider: str) -> list[StageFigures]:
        """What this pacer learned, for a store to keep under ``provider``'s name."""
        self.dirty = False
        return [
            StageFigures(provider, model, stage, tuple(found))
            for model, state in sorted(self._models.items())
            for stage, found in state.stages.items()
            if found
        ]

    def start(self, longest: float, *, model: str = "", resumed: bool = False) -> PollPace:
        """The pacing of a job of ``model`` submitted now (just before its submit request).

        ``longest`` is the longest pause between two polls (``POLL_INTERVAL``). A ``resumed``
        job was submitted at an unknown time: it is paced as if nothing were known, and its
        duration is not learned either.
        """
        state = self.model(model)
        phase = None
        if not resumed and not state.stages[DONE]:
            if state.cold_started:
                phase = longest * ((state.cold_started * COLD_COHORT) % 1.0)
            state.cold_started += 1
        return PollPace(self, model, longest, learn=not resumed, phase=phase)


class PollPace:
    """The pauses before each status poll of one job (see :meth:`Pacer.start`).

    With an expected duration, the pauses wait until :data:`FIRST_STEP` before the expected
    finish; from there (and from the start when nothing is expected) they are short steps
    growing by :data:`STEP_GROWTH`. The upstream's own word (:meth:`hint`: an eta, a progress,
    a queue position) comes first. No pause is longer than ``longest``. A job started with
    others before anything was learned (``phase``) polls every ``longest`` from its phase on,
    and looks again when another job of its model finished (:meth:`wait`).
    """

    def __init__(
        self,
        pacer: Pacer,
        model: str,
        longest: float,
        *,
        learn: bool,
        phase: float | None = None,
    ) -> None:
        self.pacer, self.model, self.longest = pacer, model, max(0.0, longest)
        self._state = pacer.model(model)
        self.started = pacer.clock()
        self._step = pacer.first
        self._learn = learn
        self._resumed = not learn
        self._phase = phase
        self._polls = 0
        self._unfinished_at = 0.0
        self._own_finish: float | None = None  # from the upstream's eta or progress
        self._ahead = 0
        self._drawing_since: float | None = None
        self._drawing_done: float | None = None  # left the queue + the model's drawing time
        # Two short steps apart, with room for the requests' own time.
        self._narrow = pacer.first * pacer.growth + pacer.first / 4

    @property
    def expected(self) -> float | None:
        """When this job should finish, in seconds after submission: the upstream's word,
        else the model's drawing time after the job left the queue, else what the pacer
        expects of the model."""
        if self._own_finish is not None:
            return self._own_finish
        if self._resumed:
            return None
        expected = self.pacer.expected(self.model)
        if expected is not None and self._drawing_done is not None:
            return max(expected, self._drawing_done)
        return expected

    def elapsed(self) -> float:
        """Seconds since the job was submitted."""
        return self.pacer.clock() - self.started

    def hint(
        self,
        *,
        eta: float | None = None,
        progress: float | None = None,
        queue_position: int | None = None,
    ) -> None:
        """What the upstream said in its last status: ``eta`` (seconds until it is done),
        ``progress`` (the share done, 0-1, while drawing), ``queue_position`` (jobs ahead of
        ours, 0 when ours is next). Each shapes the next pause; none is learned as such."""
        now = self.elapsed()
        if queue_position is not None:
            self._ahead = max(0, queue_position)
        if eta is not None and eta >= 0:
            self._own_finish = now + eta
        elif progress is not None and 0 < progress < 1:
            since = self._drawing_since if self._drawing_since is not None else 0.0
            self._own_finish = since + (now - since) / progress

    def drawing(self) -> None:
        """The upstream said the job left its queue and is being drawn (learned once). It
        left it after the poll before, the last that saw it queued: that moment is taken."""
        if self._drawing_since is not None:
            return
        self._drawing_since = self._unfinished_at
        self._ahead = 0
        queued, done = self._state.median(QUEUED), self._state.median(DONE)
        if queued is not None and done is not None and not self._resumed:
            self._drawing_done = self._drawing_since + max(0.0, done - queued)
        if self._learn:
            self.pacer.learn(self._drawing_since, self.model, QUEUED)

    def next_pause(self, *, waiting_behind: int = 0) -> float:
        """Seconds to wait before the next poll.

        ``waiting_behind`` is how many jobs the upstream says are ahead of ours in its queue:
        while any are, the job cannot be near its finish and the pause is the longest.
        """
        now = self.elapsed()
        self._unfinished_at = now
        if self._polls and self._learn:
            self._state.unfinished.append(now)
        self._polls += 1
        if waiting_behind > 0 or self._ahead > 0:
            return self.longest
        if self._phase is not None and not self.pacer.learned(self.model):
            if self._polls == 1:
                return min(self._phase, self.longest)
            return self.longest  # a cold cohort polls on its phase until a finish wakes it
        expected = self.expected
        if expected is not None:
            until_near = expected - self.pacer.first - now
            if until_near > 1e-3:
                return min(until_near, self.longest)
        pause = min(self._step, self.longest)
        if expected is None or now >= expected:
            self._step *= self.pacer.growth  # steps stay short until the expected finish
        return pause

    async def wait(self, *, waiting_behind: int = 0, at_least: float = 0.0) -> None:
        """Waits :meth:`next_pause` (or ``at_least``), or less: until a job of the same model
        finished no later after its submission than this one is now, while this one was last
        seen unfinished before that moment."""
        pause = max(self.next_pause(waiting_behind=waiting_behind), at_least)
        due = self.pacer.clock() + pause
        while pause > 0:
            changed = self._state.changed
            sleeping = asyncio.ensure_future(asyncio.sleep(pause))
            woken = asyncio.ensure_future(changed.wait())
            try:
                await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeping.cancel()
                woken.cancel()
            if sleeping.done() and not sleeping.cancelled():
                return
            if self._woken(at_least):
                return
            due = min(due, self._near_due())
            pause = due - self.pacer.clock()

    def _woken(self, at_least: float) -> bool:
        """Whether a job of the model just finished at an age this one has reached, while
        this one was last seen unfinished younger: then it polls at once."""
        finished = self._state.finished_at
        if finished is None or self._resumed or at_least > 0 or self._ahead:
            return False
        return self._unfinished_at < finished <= self.elapsed() + self.pacer.first / 4

    def _near_due(self) -> float:
        """When (on the pacer's clock) this job is near its expected finish, after something
        was learned: a sleeping job wakes no later than that."""
        expected = self.expected
        if expected is None or self._ahead:
            return math.inf
        return self.started + max(expected - self.pacer.first, self._unfinished_at)

    def finished(self) -> None:
        """The job's status said it is over: its duration is learned (unless it was resumed).

        The job finished between the latest moment it (or a job of its model in flight) was
        seen unfinished and this poll. When those are only a short step or two apart, this
        poll's time is learned. After a longer pause the finish is less certain: without an
        expectation the middle of the pause is learned; with one, the job was done at the
        first poll near its expected finish, so it finishes earlier than expected, and one
        first step earlier than this poll is learned.
        """
        if not self._learn:
            return
        self._learn = False
        seen = self.elapsed()
        before = max(
            [self._unfinished_at, *(t for t in self._state.unfinished if t < seen)], default=0.0
        )
        if seen - before > self._narrow:
            if self.expected is None or self._phase is not None:
                seen = (seen + before) / 2
            else:
                seen = max(seen - self.pacer.first, before)
        self.pacer.learn(seen, self.model)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def upstream_hints(pace: PollPace, answer: object, *, drawing: bool = False) -> None:
    """Hands ``pace`` what a status answer says of the job's time, where it says any: an
    ``eta`` (seconds left), a ``progress`` (0-1, or a percentage above 1), a
    ``queue_position`` (or ``position``: jobs ahead); ``drawing`` when its status says the job
    left the queue (:meth:`PollPace.drawing`)."""
    if drawing:
        pace.drawing()
    if not isinstance(answer, dict):
        return
    eta = _number(answer.get("eta"))
    progress = _number(answer.get("progress"))
    if progress is not None and progress > 1:
        progress /= 100
    place = _number(answer.get("queue_position", answer.get("position")))
    pace.hint(
        eta=eta,
        progress=progress,
        queue_position=None if place is None else int(place),
    )


async def poll(
    fetch: Callable[[], Awaitable[Any]], pace: PollPace | Callable[[], float]
) -> AsyncGenerator[Any, None]:
    """Yields ``fetch()``'s answers, each fetched after ``pace.wait()`` (a :class:`PollPace`),
    or a pause of ``pace()`` seconds, until the caller stops.

    Up to :data:`POLL_RETRIES` transient errors in a row (5xx, 429, network, timeout) are
    waited out, a 429 for at least as long as its Retry-After asks (at most
    :data:`MAX_RETRY_AFTER`); the next one is raised. Other errors are raised at once. There is
    no attempt limit: the caller's job deadline ends a poll that never finishes.
    """
    faults = TransientFaults()
    retry_after = 0.0
    while True:
        if isinstance(pace, PollPace):
            await pace.wait(at_least=retry_after)
        else:
            pause = max(pace(), retry_after)
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
