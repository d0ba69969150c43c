"""Flood control for every Bot API call: Telegram's whole budget, spent in order of importance.

Telegram allows about 30 messages a second overall, 20 a minute in a group and about one a
second in any one chat (a short burst is tolerated); edits count. :class:`FloodControl` keeps a
moving window per limit (a token bucket for the one a second) and lets a call through the moment
every limit it counts against has room, so the budget is used in full. Waiting calls go in
order of :class:`Priority`: the first answer to a command, then results, then clean-up, then
progress edits, which only ever get budget nobody more important is waiting for, and a share of
every limit is kept free for them.

Telegram does not say what counts, so everything that puts or changes something in a chat counts:
sends, edits, deletions and chat actions (which never wait: one that cannot go at once is not
sent, since it would be stale). When Telegram answers 429 anyway, what the 429 concerns is paused
for its ``retry_after``: the chat, when its own windows were fuller than the overall one,
else everything; the call goes back to the front of its priority's queue, that window's rate is
lowered (and recovers slowly, see :class:`Learning`), and a second 429 for the same call waits
longer. Nothing is dropped.

A call occupies its windows from the moment it is let through until its answer arrives, and is
then counted at that moment: Telegram counted it somewhere in between, so its windows can never
be fuller than ours, whatever the network's delays (a window that timestamps the call when it is
sent draws a 429 whenever an earlier call travelled slower than a later one).

With several replicas of the bot on one token, a :class:`~bot.telegram.budget.SharedBudget`
(``budget=``) is asked too, in the same order, whether each call may go now: the windows above
still pace this replica, the shared ones keep every replica together within Telegram's limits.

Why not a library: ``limits``' moving window stamps an entry when it is taken and cannot move
it to the answer, counts whole seconds on the wall clock, and has no notion of priority;
``aiolimiter`` is a leaky bucket, which stays inside a window only at half its rate. The
window arithmetic is the small part here; the scheduler around it is the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import itertools
import logging
import math
import time
import zlib
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram.budget import Ask, Grant, Hold, SharedBudget

log = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class Priority(IntEnum):
    """Which waiting call goes first when the budget is short (lower goes first)."""

    ANSWER = 0  # the first answer to a command; replies, menus, buttons
    RESULT = 1  # pictures, answers, how a job ended
    CLEANUP = 2  # deleting status and preview messages once they served
    STATUS = 3  # progress edits and previews


SPARE_ONLY = Priority.CLEANUP  # from here on, calls leave each window's reserve alone

# Calls that put or change something in a chat count towards the chat's and the overall limits,
# in private chats as in groups: Telegram does not say what counts, and a 429 (or a ban) costs
# more than a slower clean-up. Callback answers, inline answers and reads are free.
COUNTED_PREFIXES = ("send", "edit", "copy", "forward")
ALSO_COUNTED = frozenset(
    {
        "deletemessage",
        "deletemessages",
        "pinchatmessage",
        "unpinchatmessage",
        "unpinallchatmessages",
        "setmessagereaction",
        "stoppoll",
        "stopmessagelivelocation",
    }
)
MEASURED_FREE: frozenset[str] = frozenset()  # what a measurement showed Telegram never counts
DELETIONS = frozenset({"deletemessage", "deletemessages"})
CHAT_ACTIONS = frozenset({"sendchataction"})
RESULTS = frozenset(
    {
        "sendphoto",
        "sendmediagroup",
        "senddocument",
        "sendanimation",
        "sendvideo",
        "sendaudio",
        "sendvoice",
        "sendsticker",
    }
)
PREVIEWS = frozenset({"editmessagemedia"})

MAX_RETRY_AFTER = 3600.0  # a longer ban is not waited out: the call fails
# A call refused again waits retry_after x 1.25, x 1.5... (at most MAX_BACKOFF more).
BACKOFF = 0.25
MAX_BACKOFF = 60.0


class Learning:
    """How far below its configured rate a limit runs after Telegram answered 429.

    A 429 lowers the level by a fifth and remembers, for ``MEMORY`` seconds, a level just below
    the one that drew it; every ``STEP_AFTER`` seconds without a 429 the level climbs back by
    ``STEP``, up to that remembered level while it lasts, then to the configured rate. 429s for
    calls let through before the last lowering say nothing new and change nothing.
    """

    DECREASE = 0.8
    STEP = 0.05
    STEP_AFTER = 60.0
    MEMORY = 600.0
    LOWEST = 0.05

    __slots__ = ("_cap", "_cap_until", "_stepped_at", "level", "lowered_at")

    def __init__(self) -> None:
        self.level = 1.0
        self.lowered_at = -math.inf
        self._cap = 1.0
        self._cap_until = -math.inf
        self._stepped_at = -math.inf

    def lower(self, now: float, admitted_at: float) -> bool:
        """A call let through at ``admitted_at`` drew a 429: whether the level went down."""
        if admitted_at < self.lowered_at:
            return False
        self._cap, self._cap_until = self.level * 0.95, now + self.MEMORY
        self.level = max(self.LOWEST, self.level * self.DECREASE)
        self.lowered_at = self._stepped_at = now
        return True

    def recover(self, now: float) -> bool:
        """Climbs back as time allows; whether the level changed."""
        steps = math.floor((now - self._stepped_at) / self.STEP_AFTER)
        if steps <= 0 or self.level >= 1.0:
            return False
        top = self._cap if now < self._cap_until else 1.0
        self._stepped_at += steps * self.STEP_AFTER
        level = max(self.level, min(top, self.level + steps * self.STEP))
        changed, self.level = level != self.level, level
        return changed

    def settled(self, now: float) -> bool:
        """Back at the configured rate and nothing left to remember."""
        return self.level >= 1.0 and now >= self._cap_until


Shape = tuple[int, float, int]  # (calls, seconds, reserve) of one moving window


@dataclass(frozen=True)
class Limits:
    """Telegram's limits. A reserve is the room that clean-up and status edits leave free for
    answers and results that may come any moment."""

    overall: Shape = (30, 1.0, 10)  # a moving window: 30 in any second
    # A minute is long: what status edits take now is missing for a first answer a minute later.
    group: Shape = (20, 60.0, 10)
    # Every chat, groups too: about one a second after a burst of three (a token bucket).
    chat_burst: int = 3
    chat_per_second: float = 1.0
    chat_reserve: int = 1


class Window:
    """At most ``limit`` calls in any ``length`` seconds, counting calls still in flight.

    ``limit`` is the configured ``ceiling`` until a 429 lowers it (see :meth:`lower`)."""

    __slots__ = ("_done", "_learning", "_open", "_reserve", "ceiling", "length", "limit", "reserve")

    def __init__(self, limit: int, length: float, reserve: int = 0) -> None:
        self.ceiling = self.limit = limit
        self.length = length
        self._reserve = reserve
        self.reserve = min(limit - 1, reserve)  # room calls from SPARE_ONLY on must leave free
        self._done: deque[float] = deque()  # when finished calls were answered, ascending
        self._open = 0
        self._learning: Learning | None = None

    def lower(self, now: float, admitted_at: float) -> bool:
        """Telegram refused a call let through at ``admitted_at``: run slower for a while."""
        learning = self._learning = self._learning or Learning()
        if not learning.lower(now, admitted_at):
            return False
        self._apply(learning.level)
        return True

    def _refresh(self, now: float) -> None:
        learning = self._learning
        if learning is not None and learning.recover(now):
            self._apply(learning.level)
            if learning.settled(now):
                self._learning = None

    def _apply(self, level: float) -> None:
        self.limit = max(1, math.floor(self.ceiling * level + 1e-9))
        share = round(self._reserve * self.limit / self.ceiling)
        self.reserve = max(0, min(self.limit - 1, share))

    def fill(self, now: float) -> float:
        """How full the window is now (1.0: no room)."""
        return self.used(now) / self.limit

    def used(self, now: float) -> int:
        """Calls counted in the window that ends now."""
        done = self._done
        while done and done[0] <= now - self.length:
            done.popleft()
        return len(done) + self._open

    def idle(self, now: float) -> bool:
        return not self.used(now)

    def free_at(self, now: float, keep: int) -> float:
        """The first moment from ``now`` on when one more call leaves ``keep`` places free;
        infinity while that depends on calls still in flight."""
        if self._learning is not None:
            self._refresh(now)
        excess = self.used(now) - (self.limit - keep) + 1
        if excess <= 0:
            return now
        if excess > len(self._done):
            return math.inf
        return self._done[excess - 1] + self.length

    def take(self) -> None:
        self._open += 1

    def give_back(self, answered_at: float | None) -> None:
        """The call is over: counted at ``answered_at``, or not at all (``None``: never sent)."""
        self._open -= 1
        if answered_at is not None:
            self._done.append(answered_at)


class Bucket:
    """About ``rate`` calls a second after a burst of ``burst``: a token bucket in which a call
    holds its token from being let through, and its refill starts when it was answered.

    A 429 lowers the rate (and the burst) for a while, see :meth:`lower`."""

    __slots__ = (
        "_burst",
        "_learning",
        "_open",
        "_rate",
        "_reserve",
        "_tokens",
        "_when",
        "burst",
        "rate",
        "reserve",
    )

    def __init__(self, burst: int, rate: float, reserve: int = 0) -> None:
        self._burst = self.burst = burst
        self._rate = self.rate = rate
        self._reserve = reserve
        self.reserve = min(burst - 1, reserve)
        self._tokens = float(burst)  # after the last answered call...
        self._when = 0.0  # ...which was answered then
        self._open = 0
        self._learning: Learning | None = None

    def lower(self, now: float, admitted_at: float) -> bool:
        """Telegram refused a call let through at ``admitted_at``: run slower for a while."""
        learning = self._learning = self._learning or Learning()
        if not learning.lower(now, admitted_at):
            return False
        self._apply(now, learning.level)
        return True

    def _refresh(self, now: float) -> None:
        learning = self._learning
        if learning is not None and learning.recover(now):
            self._apply(now, learning.level)
            if learning.settled(now):
                self._learning = None

    def _apply(self, now: float, level: float) -> None:
        self._tokens, self._when = self._answered(now), now  # refilled so far at the old rate
        self.rate = self._rate * level
        self.burst = max(1, math.floor(self._burst * level + 1e-9))
        self.reserve = max(0, min(self.burst - 1, self._reserve))
        self._tokens = min(self._tokens, float(self.burst))

    def fill(self, now: float) -> float:
        """How full the bucket is now (1.0: no token left)."""
        return 1.0 - max(0.0, self._answered(now) - self._open) / self.burst

    def _answered(self, now: float) -> float:
        """Tokens left by the answered calls alone."""
        return min(float(self.burst), self._tokens + self.rate * (now - self._when))

    def idle(self, now: float) -> bool:
        return not self._open and self._answered(now) >= self.burst

    def free_at(self, now: float, keep: int) -> float:
        """The first moment from ``now`` on when one more call leaves ``keep`` tokens;
        infinity while that depends on calls still in flight."""
        if self._learning is not None:
            self._refresh(now)
        need = 1 + keep
        if self.burst - self._open < need:
            return math.inf
        level = self._answered(now) - self._open
        return now if level >= need else now + (need - level) / self.rate

    def take(self) -> None:
        self._open += 1

    def give_back(self, answered_at: float | None) -> None:
        """The call is over: its token spent at ``answered_at``, or returned (``None``)."""
        self._open -= 1
        if answered_at is not None:
            at = max(answered_at, self._when)
            self._tokens, self._when = self._answered(at) - 1, at


Limit = Window | Bucket


class _Chat:
    __slots__ = ("blocked_until", "spare_until", "waiting", "windows")

    def __init__(self, windows: list[Limit]) -> None:
        self.windows = windows
        self.blocked_until = 0.0  # a 429's retry_after
        self.spare_until = 0.0  # a shared budget holds back calls that leave the reserve free
        self.waiting = 0

    def free_at(self, now: float, spare_only: bool) -> float:
        at = self.blocked_until if self.blocked_until > now else now
        if spare_only:
            at = max(at, self.spare_until)
        for window in self.windows:
            at = max(at, window.free_at(now, window.reserve if spare_only else 0))
        return at

    def idle(self, now: float) -> bool:
        return (
            not self.waiting
            and self.blocked_until <= now
            and all(w.idle(now) for w in self.windows)
        )

    def fill(self, now: float) -> float:
        return max(w.fill(now) for w in self.windows)


class Permit:
    """A counted call's place in its windows, from being let through until it is answered.

    Used as a context manager around one Bot call, the permit is spent by the first counted
    call for its chat inside the block (see :meth:`FloodControl.turn`); an unspent permit frees
    its place on leaving the block.
    """

    def __init__(
        self,
        owner: FloodControl,
        chat_id: int | None,
        windows: list[Limit],
        priority: Priority = Priority.ANSWER,
        admitted_at: float = 0.0,
    ) -> None:
        self._owner = owner
        self.chat_id = chat_id
        self._windows = windows
        self.priority = priority  # a refused call waits again with it
        self.admitted_at = admitted_at
        self.grant: Grant | None = None  # its place in a shared budget
        self.spent = False
        self._closed = False
        self._token: contextvars.Token[Permit | None] | None = None

    def close(self, answered_at: float | None) -> None:
        """Counts the call as answered at ``answered_at`` (``None``: it never went out)."""
        if self._closed:
            return
        self._closed = True
        for window in self._windows:
            window.give_back(answered_at)
        if self.grant is not None:
            self._owner._give_back(self.grant, answered_at is not None)
        self._owner._poke()

    def __enter__(self) -> Permit:
        self._token = _PERMIT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _PERMIT.reset(self._token)
        if not self.spent:
            self.close(None)


_PERMIT: contextvars.ContextVar[Permit | None] = contextvars.ContextVar("permit", default=None)
_PRIORITY: contextvars.ContextVar[Priority | None] = contextvars.ContextVar(
    "priority", default=None
)


@contextlib.contextmanager
def sending_as(priority: Priority) -> Iterator[None]:
    """Counted calls made inside the block (by this task) wait with ``priority``."""
    token = _PRIORITY.set(priority)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def default_priority(endpoint: str) -> Priority:
    """The priority of a call nobody gave one: pictures are results, the rest answers."""
    name = endpoint.lower()
    if name in RESULTS:
        return Priority.RESULT
    if name in DELETIONS:
        return Priority.CLEANUP
    if name in PREVIEWS or name in CHAT_ACTIONS:
        return Priority.STATUS
    return Priority.ANSWER


@dataclass(eq=False)
class _Turn:
    priority: Priority
    chat: _Chat | None
    chat_id: int | None
    future: asyncio.Future[Permit]


class _Queue:
    """The calls of one priority waiting for budget, in order: groups' calls first, then the
    others, each in order of arrival (a retried call at the front of its line). A group has a
    minute's window besides the second's: a call that misses its place there waits up to a
    minute, one to a private chat only until the next second."""

    def __init__(self) -> None:
        self._groups: dict[_Turn, None] = {}
        self._others: dict[_Turn, None] = {}

    @staticmethod
    def _in_group(turn: _Turn) -> bool:
        return turn.chat_id is not None and turn.chat_id < 0

    def add(self, turn: _Turn, *, first: bool = False) -> None:
        group = self._in_group(turn)
        line = self._groups if group else self._others
        if not first:
            line[turn] = None
        elif group:
            self._groups = {turn: None, **line}
        else:
            self._others = {turn: None, **line}

    def remove(self, turn: _Turn) -> None:
        (self._groups if self._in_group(turn) else self._others).pop(turn, None)

    def __bool__(self) -> bool:
        return bool(self._groups or self._others)

    def __iter__(self) -> Iterator[_Turn]:
        return itertools.chain(self._groups, self._others)


class FloodControl(BaseRateLimiter[Priority]):
    """Lets each counted Bot API call through as soon as Telegram's limits allow, by priority.

    A 429 is retried after its ``retry_after`` (longer when the same call draws another) for as
    long as it takes, while what it concerns (the chat, or everything) waits as long; only a
    ``retry_after`` over an hour fails the call.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        budget: SharedBudget | None = None,
    ) -> None:
        self._limits = limits or Limits()
        self._budget = budget  # None: this process has the token's whole budget
        self._claiming: asyncio.Task[None] | None = None  # asking the budget for places
        self._clock = clock
        self._overall = Window(*self._limits.overall)
        self._chats: dict[int, _Chat] = {}
        self._queues: dict[Priority, _Queue] = {p: _Queue() for p in Priority}
        self._blocked_until = 0.0  # a 429 for the overall limit holds back every counted call
        self._spare_until = 0.0  # a shared budget holds back calls that leave the reserve free
        self.too_many_requests = 0  # 429s drawn
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._poked = False

    async def initialize(self) -> None:
        """Connects to the shared budget, if any."""
        if self._budget is not None:
            await self._budget.start()

    async def shutdown(self) -> None:
        """Stops the wake-up timer (and the shared budget's connection)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf
        if self._claiming is not None:
            self._claiming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._claiming
            self._claiming = None
        if self._budget is not None:
            await self._budget.stop()

    # -- what callers see ----------------------------------------------------------------------

    async def turn(self, endpoint: str, chat_id: int, priority: Priority) -> Permit:
        """Waits until a call to ``endpoint`` in the chat may go now with ``priority``.

        Use the permit as a context manager around the call, deciding its content only then;
        this is how a progress edit always shows the newest text however long it waited.
        """
        if not self._counted(endpoint):
            return Permit(self, chat_id, [], priority)
        return await self._acquire(self._chat(chat_id), chat_id, priority)

    def turn_now(self, endpoint: str, chat_id: int, priority: Priority) -> Permit | None:
        """A permit for a call that may go at once with ``priority``, else None (without
        waiting): for what is useless late, like a chat action."""
        if not self._counted(endpoint):
            return Permit(self, chat_id, [], priority)
        now = self._clock()
        if self._blocked_until > now:
            return None
        if any(self._queues[p] for p in Priority if p <= priority):
            return None  # others were first
        chat = self._chat(chat_id)
        spare_only = priority >= SPARE_ONLY
        if chat.waiting or chat.free_at(now, spare_only) > now:
            return None
        if self._overall_at(now, spare_only) > now:
            return None
        windows = [*chat.windows, self._overall]
        for window in windows:
            window.take()
        permit = Permit(self, chat_id, windows, priority, now)
        if self._budget is not None:
            permit.grant = self._budget.take_now(self._ask(chat, chat_id, spare_only))
            if permit.grant is None:
                permit.close(None)
                return None
        return permit

    @property
    def overall_limit(self) -> int:
        """Calls a second the overall window lets through now (lower for a while after a
        429)."""
        return self._overall.limit

    def busy(self, chat_id: int) -> bool:
        """Whether calls for this chat, or any answers and results, are waiting for budget."""
        chat = self._chats.get(chat_id)
        if chat is not None and (chat.waiting or chat.blocked_until > self._clock()):
            return True
        if self._blocked_until > self._clock():
            return True
        return bool(self._queues[Priority.ANSWER] or self._queues[Priority.RESULT])

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> JSONResult:
        chat_id = _chat_id(data)
        if not self._counted(endpoint):
            return await callback(*args, **kwargs)
        chat = self._chat(chat_id) if chat_id is not None else None
        priority = rate_limit_args if rate_limit_args is not None else _PRIORITY.get()
        if priority is None:
            priority = default_priority(endpoint)
        permit = _PERMIT.get()
        if permit is not None and not permit.spent and permit.chat_id == chat_id:
            permit.spent = True
            priority = permit.priority  # the turn's: a retry waits as the turn did
        else:
            permit = await self._acquire(chat, chat_id, priority)
            permit.spent = True
        refusals = 0
        while True:
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as error:
                retry_after = _seconds(error)
                if retry_after > MAX_RETRY_AFTER:
                    permit.close(None)
                    raise
                refusals += 1
                overall, delay = self._refused(endpoint, chat, permit, retry_after, refusals)
                permit.close(None)  # refused, so not counted: Telegram's retry_after rules now
                if self._budget is not None:
                    await self._budget.pause(None if overall else chat_id, delay)
                permit = await self._acquire(chat, chat_id, priority, first=True)
                permit.spent = True
                continue
            except BaseException:
                permit.close(self._clock())
                raise
            permit.close(self._clock())
            return result

    # -- bookkeeping ---------------------------------------------------------------------------

    @staticmethod
    def _counted(endpoint: str) -> bool:
        """Whether a call counts (towards its chat's limits, if it names one, and overall)."""
        name = endpoint.lower()
        if name in MEASURED_FREE:
            return False
        return name.startswith(COUNTED_PREFIXES) or name in ALSO_COUNTED

    def _refused(
        self, endpoint: str, chat: _Chat | None, permit: Permit, retry_after: float, refusals: int
    ) -> tuple[bool, float]:
        """Telegram answered 429: pauses what it concerns and lowers that limit for a while.
        Returns whether everything was paused (else the chat), and for how long.

        Telegram does not say which limit a 429 is for: it is the chat's when the chat's
        windows were fuller than the overall one (the call still in them), else the overall.
        """
        self.too_many_requests += 1
        now = self._clock()
        delay = retry_after + min(MAX_BACKOFF, retry_after * BACKOFF * (refusals - 1))
        overall = chat is None or self._overall.fill(now) >= chat.fill(now)
        if overall:
            windows: list[Limit] = [self._overall]
            self._blocked_until = max(self._blocked_until, now + delay)
        else:
            assert chat is not None
            windows = chat.windows
            chat.blocked_until = max(chat.blocked_until, now + delay)
        lowered = [w for w in windows if w.lower(now, permit.admitted_at)]
        log.warning(
            "%s drew a 429 (%s limit%s); %s waits %.1f s",
            endpoint,
            "overall" if overall else "the chat's",
            ", now lower" if lowered else "",
            "everything" if overall else "the chat",
            delay,
        )
        return overall, delay

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= 4096:
                now = self._clock()
                for key in [k for k, c in self._chats.items() if c.idle(now)]:
                    del self._chats[key]
            limits = self._limits
            windows: list[Limit] = [
                Bucket(limits.chat_burst, limits.chat_per_second, limits.chat_reserve)
            ]
            if chat_id < 0:
                windows.append(Window(*limits.group))
            chat = self._chats[chat_id] = _Chat(windows)
        return chat

    async def _acquire(
        self,
        chat: _Chat | None,
        chat_id: int | None,
        priority: Priority,
        *,
        first: bool = False,
    ) -> Permit:
        future: asyncio.Future[Permit] = asyncio.get_running_loop().create_future()
        turn = _Turn(priority, chat, chat_id, future)
        self._queues[priority].add(turn, first=first)  # a retried call: at the front
        if chat is not None:
            chat.waiting += 1
        self._dispatch()
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                future.result().close(None)
            raise
        finally:
            self._queues[turn.priority].remove(turn)
            if chat is not None:
                chat.waiting -= 1

    def _poke(self) -> None:
        """Runs the dispatcher soon (once, however many calls finished meanwhile)."""
        if not self._poked:
            self._poked = True
            with contextlib.suppress(RuntimeError):  # no loop: nothing can be waiting
                asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        """Lets through every waiting call that fits now, most important first (with a shared
        budget: asks it for their places, see :meth:`_claim`)."""
        self._poked = False
        if self._claiming is not None:
            return  # the claim dispatches again when the budget has answered
        now = self._clock()
        if self._blocked_until > now:
            self._wake_at(self._blocked_until, now)
            return
        wake = math.inf
        held: set[int] = set()  # chats whose next place belongs to a more important call
        claims: list[tuple[_Turn, Permit]] = []
        for priority, queue in self._queues.items():
            if not queue:
                continue
            spare_only = priority >= SPARE_ONLY
            overall_at = self._overall_at(now, spare_only)
            admitted: list[_Turn] = []
            for turn in queue:
                if turn.future.done():
                    admitted.append(turn)
                    continue
                if overall_at > now:
                    wake = min(wake, overall_at)
                    break
                chat = turn.chat
                if chat is not None:
                    if id(chat) in held:
                        continue
                    at = chat.free_at(now, spare_only)
                    if at > now:
                        held.add(id(chat))
                        wake = min(wake, at)
                        continue
                windows: list[Limit] = list(chat.windows) if chat is not None else []
                windows.append(self._overall)
                for window in windows:
                    window.take()
                permit = Permit(self, turn.chat_id, windows, priority, now)
                if self._budget is None:
                    turn.future.set_result(permit)
                    admitted.append(turn)
                else:
                    claims.append((turn, permit))  # stays in its place until the budget says
                overall_at = self._overall_at(now, spare_only)
            for turn in admitted:
                queue.remove(turn)
        if claims:
            self._claiming = asyncio.get_running_loop().create_task(self._claim(claims))
        self._wake_at(wake, now)

    def _overall_at(self, now: float, spare_only: bool) -> float:
        """When one more call fits the overall window (leaving its reserve if ``spare_only``)."""
        at = self._overall.free_at(now, self._overall.reserve if spare_only else 0)
        return max(at, self._spare_until) if spare_only else at

    async def _claim(self, claims: list[tuple[_Turn, Permit]]) -> None:
        """Asks the shared budget for the places of calls that fit this replica's windows:
        a call granted one goes, one held back gives its places back and waits (its chat, or
        everything, for as long as the budget says)."""
        assert self._budget is not None
        try:
            asks = [self._ask(t.chat, t.chat_id, t.priority >= SPARE_ONLY) for t, _ in claims]
            verdicts: list[Grant | Hold | None] = list(await self._budget.take(asks))
        except asyncio.CancelledError:
            for _, permit in claims:
                permit.close(None)
            raise
        except Exception:  # a bug in the budget must not strand the calls: they go unshared
            log.exception(
                "the shared flood budget failed; %d calls go on local limits", len(claims)
            )
            verdicts = [None] * len(claims)
        now = self._clock()
        for (turn, permit), verdict in zip(claims, verdicts, strict=True):
            if isinstance(verdict, Hold):
                permit.close(None)
                self._hold(turn.chat, verdict, now, turn.priority >= SPARE_ONLY)
                continue
            permit.grant = verdict
            if turn.future.done():  # cancelled meanwhile
                permit.close(None)
            else:
                turn.future.set_result(permit)
        self._claiming = None
        self._dispatch()

    def _hold(self, chat: _Chat | None, hold: Hold, now: float, spare_only: bool) -> None:
        """Holds back what the shared budget said (a call that must leave the reserve free
        holds back only the calls that must too)."""
        until = now + hold.seconds
        if hold.everything or chat is None:
            if spare_only:
                self._spare_until = max(self._spare_until, until)
            else:
                self._blocked_until = max(self._blocked_until, until)
        elif spare_only:
            chat.spare_until = max(chat.spare_until, until)
        else:
            chat.blocked_until = max(chat.blocked_until, until)

    def _ask(self, chat: _Chat | None, chat_id: int | None, spare_only: bool) -> Ask:
        """What the shared budget needs to know of a call: its chat and the limits as this
        replica runs them now."""
        bucket: tuple[int, float, int] | None = None
        group: Shape | None = None
        for window in chat.windows if chat is not None else ():
            if isinstance(window, Bucket):
                bucket = (window.burst, window.rate, window.reserve)
            else:
                group = (window.limit, window.length, window.reserve)
        overall = self._overall
        return Ask(
            chat_id, spare_only, (overall.limit, overall.length, overall.reserve), bucket, group
        )

    def _give_back(self, grant: Grant, answered: bool) -> None:
        if self._budget is not None:
            self._budget.done(grant, answered)

    def _wake_at(self, at: float, now: float) -> None:
        if at == math.inf or (self._timer is not None and self._timer_at <= at):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.get_running_loop().call_later(max(0.0, at - now), self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._dispatch()


# Chat ids fit in 52 bits; the keys of inline messages lie beyond them.
INLINE_KEYS = 2**53


def inline_chat_key(inline_message_id: str) -> int:
    """The chat that calls on an inline message count against.

    Telegram does not tell a bot which chat an inline message was sent to, so each inline
    message is counted as a group of its own (a group's 20 a minute is the strictest case): a
    negative id that no real chat has, the same for every call on that message.
    """
    return -(INLINE_KEYS + zlib.crc32(inline_message_id.encode()))


def _chat_id(data: dict[str, Any]) -> int | None:
    value = data.get("chat_id")
    inline = data.get("inline_message_id")
    if value is None and isinstance(inline, str):
        return inline_chat_key(inline)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # "@channelname": only the overall limit applies


def _seconds(error: RetryAfter) -> float:
    value: int | dt.timedelta = error._retry_after  # a timedelta; the public property warns
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
