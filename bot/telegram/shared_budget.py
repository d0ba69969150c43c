"""Telegram's flood budget for one token, shared through Redis by every replica of the bot.

Telegram counts a token's calls wherever they come from, so replicas that each kept their own
windows would together send three times too many. :class:`RedisBudget` keeps the same windows
as :mod:`bot.telegram.flood` in Redis: 30 calls in any second overall, 20 in any minute per
group, a bucket of about one a second per chat. Each check-and-take is one Lua script (atomic),
timed by Redis's own clock (``TIME``), so the replicas' clocks do not matter.

A call holds its place from being let through until its answer, and is then counted at the
answer, as in :mod:`bot.telegram.flood`: its entry in a window's sorted set is scored with a
deadline (``LEASE`` from now, renewed while the call lasts) and scored again with the time of
its answer. A replica killed mid-call stops renewing, and its calls count as answered at their
deadline. A 429 pauses its chat (or everything) for every replica: a key with the
``retry_after`` as its expiry, which the take script checks. Every key expires.

When Redis cannot be reached, each replica keeps to a local share, 1/N of every limit (N: the
replicas seen alive, from ``replicas_alive``), counted from its own recent calls (which it
tracks all along), and tries Redis again every few seconds. Nothing waits on Redis for longer
than a timeout, and no call is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from bot.telegram.budget import Ask, Grant, Hold, Shape
from bot.telegram.flood import Bucket, Limit, Window

log = logging.getLogger(__name__)

LEASE = 6.0  # a call's place is held this long without news from its replica
EVERY = 2.0  # renew leases, or try Redis again, this often (seconds)
POLL = 0.02  # ask again this soon when only calls in flight (maybe elsewhere) fill a window
WANTED = 0.1  # a limit stays wanted this long past the wait of the call refused it
TIMEOUT = 1.0  # a Redis command that takes longer counts as Redis down
REPLICAS_EVERY = 30.0  # how often the replicas alive are counted while Redis is up
SLACK_MS = 1000  # keys outlive what they hold by this much
FAILURES = (RedisError, OSError, TimeoutError)

ReplicasAlive = Callable[[], Awaitable[int]]
Arg = str | int | float  # a script argument

# Times are milliseconds of Redis's clock, formatted with "%.3f" for Redis: Lua would print
# them with too few digits.
_LUA_COMMON = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local function ms(x) return string.format('%.3f', x) end
"""

# KEYS: global pause, overall, overall wanted
#       [, chat pause, chat's calls in flight, chat's bucket, chat wanted [, group]]
# ARGV: token, force, lease, poll, spare, wanted (ms past the wait), overall (limit, length,
#       keep) [, chat (burst, ms per call, keep) [, group (limit, length, keep)]]
# Returns {0, 0} when the call may go (it holds its places), else {ms to wait, everything}.
# An answer or a result told to wait marks its limit wanted for a moment (WANTED_MS past its
# wait); clean-up and status edits (spare) do not take a wanted limit, whichever replica
# wants it: the order of importance holds across replicas.
TAKE = (
    _LUA_COMMON
    + """
local token, force = ARGV[1], ARGV[2] == '1'
local lease, poll, spare = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'

local function window_wait(key, limit, length, keep)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ms(now - length))
  local excess = redis.call('ZCARD', key) - (limit - keep) + 1
  if excess <= 0 then return 0 end
  local answered = redis.call(
    'ZRANGEBYSCORE', key, '-inf', ms(now), 'WITHSCORES', 'LIMIT', excess - 1, 1)
  if #answered == 0 then return poll end
  return tonumber(answered[2]) + length - now
end

local function bucket_wait(open, bucket, burst, per, keep)
  local tat = tonumber(redis.call('GET', bucket) or '0')
  local expired = redis.call('ZRANGEBYSCORE', open, '-inf', ms(now), 'WITHSCORES')
  if #expired > 0 then
    for i = 2, #expired, 2 do tat = math.max(tat, tonumber(expired[i])) + per end
    redis.call('ZREMRANGEBYSCORE', open, '-inf', ms(now))
    redis.call('SET', bucket, ms(tat), 'PX', math.ceil(math.max(tat - now, 0)) + 1000)
  end
  local flying = redis.call('ZCARD', open)
  local need = 1 + keep
  if burst - flying < need then return poll end
  local level = burst - math.max(0, tat - now) / per - flying
  if level >= need then return 0 end
  return (need - level) * per
end

local function refused(wait, wanted, everything)
  wait = math.ceil(wait)
  if not spare then redis.call('SET', wanted, '1', 'PX', wait + tonumber(ARGV[6])) end
  return {wait, everything}
end

local chat, group = #KEYS > 3, #KEYS > 7
if not force then
  local paused = redis.call('PTTL', KEYS[1])
  if paused > 0 then return {paused, 1} end
  if chat then
    paused = redis.call('PTTL', KEYS[4])
    if paused > 0 then return {paused, 0} end
  end
  if spare then
    local wanted = redis.call('PTTL', KEYS[3])
    if wanted > 0 then return {wanted, 1} end
    if chat then
      wanted = redis.call('PTTL', KEYS[7])
      if wanted > 0 then return {wanted, 0} end
    end
  end
  local wait = window_wait(KEYS[2], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]))
  if wait > 0 then return refused(wait, KEYS[3], 1) end
  if chat then
    wait = bucket_wait(
      KEYS[5], KEYS[6], tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]))
    if group then
      wait = math.max(wait, window_wait(
        KEYS[8], tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])))
    end
    if wait > 0 then return refused(wait, KEYS[7], 0) end
  end
end
local deadline = ms(now + lease)
redis.call('ZADD', KEYS[2], deadline, token)
redis.call('PEXPIRE', KEYS[2], math.ceil(lease + tonumber(ARGV[8])) + 1000)
if chat then
  redis.call('ZADD', KEYS[5], deadline, token)
  redis.call('PEXPIRE', KEYS[5], math.ceil(lease) + 1000)
end
if group then
  redis.call('ZADD', KEYS[8], deadline, token)
  redis.call('PEXPIRE', KEYS[8], math.ceil(lease + tonumber(ARGV[14])) + 1000)
end
return {0, 0}
"""
)

# KEYS: windows [, chat's calls in flight, chat's bucket]; ARGV: token, answered, windows, ms
# per call. Counts the call at this moment (answered) or frees its places (never sent).
DONE = (
    _LUA_COMMON
    + """
local token, answered, windows = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3])
for i = 1, windows do
  if answered then
    redis.call('ZADD', KEYS[i], 'XX', ms(now), token)
  else
    redis.call('ZREM', KEYS[i], token)
  end
end
if #KEYS > windows and redis.call('ZREM', KEYS[windows + 1], token) == 1 and answered then
  local bucket = KEYS[windows + 2]
  local tat = math.max(tonumber(redis.call('GET', bucket) or '0'), now) + tonumber(ARGV[4])
  redis.call('SET', bucket, ms(tat), 'PX', math.ceil(tat - now) + 1000)
end
return 1
"""
)

# KEYS: sorted sets; ARGV: lease, then for each key the token and the key's new expiry.
# Moves the deadline of calls still in flight (not of answered ones).
RENEW = (
    _LUA_COMMON
    + """
local lease = tonumber(ARGV[1])
for i = 1, #KEYS do
  local token = ARGV[2 * i]
  local score = redis.call('ZSCORE', KEYS[i], token)
  if score and tonumber(score) > now then
    redis.call('ZADD', KEYS[i], ms(now + lease), token)
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1])
  end
end
return 1
"""
)

# KEYS: the pause; ARGV: ms. Never shortens a longer pause.
PAUSE = """
local wanted = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < wanted then redis.call('SET', KEYS[1], '1', 'PX', wanted) end
return 1
"""


SCRIPTS = {"take": TAKE, "done": DONE, "renew": RENEW, "pause": PAUSE}
_SHAS = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in SCRIPTS.items()}
Call = tuple[str, list[str], list[Arg]]  # a script's name, its keys and arguments


@dataclass(frozen=True, slots=True)
class _Keys:
    """Where one call's places are in Redis."""

    pause: str
    overall: str
    wanted: str  # an answer or a result waits for the overall window
    chat_pause: str | None = None
    flying: str | None = None  # the chat's calls in flight
    bucket: str | None = None  # the chat's bucket (its theoretical arrival time)
    chat_wanted: str | None = None  # an answer or a result waits for the chat's limits
    group: str | None = None

    def take(self) -> list[str]:
        chat = [self.chat_pause, self.flying, self.bucket, self.chat_wanted] if self.flying else []
        group = [self.group] if self.group else []
        return [k for k in (self.pause, self.overall, self.wanted, *chat, *group) if k is not None]

    def windows(self) -> list[str]:
        return [k for k in (self.overall, self.group) if k is not None]


@dataclass(slots=True)
class _Flying:
    """A call counted in Redis that has not come back yet."""

    grant: Grant
    keys: _Keys
    taken_at: float


class LocalShare:
    """1/``replicas`` of every limit, in this process: what a replica keeps to while Redis is
    down. It counts this replica's calls all along, so that the switch starts from them."""

    CHATS = 4096  # idle chats are forgotten past this many

    def __init__(self, replicas: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.replicas = max(1, replicas)
        self._clock = clock
        self._overall: Window | None = None
        self._chats: dict[int, list[Limit]] = {}

    def take(self, ask: Ask, *, force: bool = False) -> list[Limit] | Hold:
        """The call's windows (taken), or how long to wait; ``force``: taken without a check."""
        now = self._clock()
        if self._overall is None:
            self._overall = Window(*self._window(ask.overall))
        overall = self._overall
        windows = self._chat(ask, now)
        if not force:
            at = overall.free_at(now, overall.reserve if ask.spare_only else 0)
            if at > now:
                return Hold(_seconds(at - now), everything=True)
            keeps = [(w, w.reserve if ask.spare_only else 0) for w in windows]
            at = max((w.free_at(now, keep) for w, keep in keeps), default=now)
            if at > now:
                return Hold(_seconds(at - now), everything=False)
        windows = [*windows, overall]
        for window in windows:
            window.take()
        return windows

    def give_back(self, windows: list[Limit], answered: bool) -> None:
        """The call is over: counted from now (``answered``) or not at all."""
        at = self._clock() if answered else None
        for window in windows:
            window.give_back(at)

    def _chat(self, ask: Ask, now: float) -> list[Limit]:
        if ask.chat_id is None:
            return []
        windows = self._chats.get(ask.chat_id)
        if windows is None:
            if len(self._chats) >= self.CHATS:
                for key in [k for k, ws in self._chats.items() if all(w.idle(now) for w in ws)]:
                    del self._chats[key]
            windows = []
            if ask.chat is not None:
                windows.append(Bucket(*self._bucket(ask.chat)))
            if ask.group is not None:
                windows.append(Window(*self._window(ask.group)))
            self._chats[ask.chat_id] = windows
        return windows

    def _window(self, shape: Shape) -> Shape:
        calls, seconds, reserve = shape
        return max(1, calls // self.replicas), seconds, round(reserve / self.replicas)

    def _bucket(self, shape: tuple[int, float, int]) -> tuple[int, float, int]:
        burst, rate, reserve = shape
        n = self.replicas
        return max(1, burst // n), rate / n, round(reserve / n)


def _seconds(wait: float) -> float:
    return POLL if wait == math.inf else max(wait, 0.001)


def _shown(url: str) -> str:
    """The URL without its password, fit for a log."""
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else ""
    return f"{parts.scheme}://{where}{parts.path}"


class RedisBudget:
    """Telegram's flood budget for the bot ``bot_id`` (the token's number), shared through the
    Redis at ``url`` with every replica of the same bot (other bots on that Redis keep their
    own). ``replicas_alive`` counts the replicas running now: while Redis is down, each keeps to
    1/N of the budget. Plug it in with ``FloodControl(budget=RedisBudget(...))``.
    """

    def __init__(
        self,
        url: str,
        bot_id: int | str,
        *,
        replicas_alive: ReplicasAlive | None = None,
        every: float = EVERY,
        lease: float = LEASE,
    ) -> None:
        self._url = url
        self._prefix = f"flood:{{{bot_id}}}:"  # one hash slot: the scripts' keys stay together
        self._replicas_alive = replicas_alive
        self._every = every
        self._lease_ms = lease * 1000
        self._client: Redis | None = None
        self._up = False
        self._share = LocalShare(1)
        self._local: dict[str, list[Limit]] = {}  # every grant's places in the local share
        self._flying: dict[str, _Flying] = {}  # grants counted in Redis, not answered yet
        self._pending: list[tuple[Grant, bool | None]] = []  # (grant, answered; None: take it)
        self._writer: asyncio.Task[None] | None = None
        self._maintainer: asyncio.Task[None] | None = None
        self._counted_at = -math.inf
        self._names = map(f"{uuid.uuid4().hex[:12]}:{{}}".format, itertools.count())

    @property
    def shared(self) -> bool:
        """Whether the budget is kept in Redis now (else in this replica's local share)."""
        return self._up

    @property
    def replicas(self) -> int:
        """How many replicas share the budget while Redis is down."""
        return self._share.replicas

    async def start(self) -> None:
        """Connects to Redis and starts the background work; Redis down is not an error."""
        self._client = Redis.from_url(
            self._url,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            retry=Retry(NoBackoff(), 1),  # a connection Redis closed is tried once more
        )
        await self._count_replicas()
        self._up = True
        try:
            await self._client.ping()
            log.info("the flood budget is shared through Redis at %s", _shown(self._url))
        except FAILURES as error:
            self._fall_back(error)
        self._maintainer = asyncio.create_task(self._maintain(), name="flood-budget")

    async def stop(self) -> None:
        """Sends what is pending, stops the background work and closes the connection (what
        comes after is counted locally)."""
        if self._writer is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._writer), TIMEOUT)
        for task in (self._maintainer, self._writer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._maintainer = self._writer = None
        self._up = False
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def take(self, asks: Sequence[Ask]) -> list[Grant | Hold]:
        """A place for each call in Redis, in order, or how long to wait (see the module)."""
        if self._up:
            try:
                return await self._take_shared(asks)
            except FAILURES as error:
                self._fall_back(error)
        return [self._take_local(ask) for ask in asks]

    def take_now(self, ask: Ask) -> Grant | None:
        """Counted at once without asking Redis (the count is sent after); checked against the
        local share while Redis is down."""
        if not self._up:
            taken = self._take_local(ask)
            return taken if isinstance(taken, Grant) else None
        grant = self._granted(ask)
        self._flying[grant.token] = _Flying(grant, self._keys(ask), time.monotonic())
        self._send(grant, None)
        return grant

    def done(self, grant: Grant, answered: bool) -> None:
        """Counts the call from now (``answered``) or frees its places."""
        windows = self._local.pop(grant.token, None)
        if windows is not None:
            self._share.give_back(windows, answered)
        if self._flying.pop(grant.token, None) is not None and self._up:
            self._send(grant, answered)

    async def pause(self, chat_id: int | None, seconds: float) -> None:
        """Holds back the chat (None: everything) for every replica for ``seconds``."""
        if not self._up or self._client is None:
            return  # flood control holds this replica back itself
        key = self._prefix + ("pause" if chat_id is None else f"pause:{chat_id}")
        try:
            await self._run(self._client, [("pause", [key], [math.ceil(seconds * 1000)])])
        except FAILURES as error:
            self._fall_back(error)

    # -- Redis ---------------------------------------------------------------------------------

    async def _take_shared(self, asks: Sequence[Ask]) -> list[Grant | Hold]:
        assert self._client is not None
        names = [next(self._names) for _ in asks]
        calls = [
            self._take_call(ask, name, force=False) for ask, name in zip(asks, names, strict=True)
        ]
        replies = await self._run(self._client, calls)
        verdicts: list[Grant | Hold] = []
        for ask, name, (wait_ms, everything) in zip(asks, names, replies, strict=True):
            if wait_ms:
                verdicts.append(Hold(max(0.001, int(wait_ms) / 1000), bool(everything)))
                continue
            grant = self._granted(ask, name)
            self._flying[name] = _Flying(grant, self._keys(ask), time.monotonic())
            verdicts.append(grant)
        return verdicts

    def _take_call(self, ask: Ask, name: str, *, force: bool) -> Call:
        keys = self._keys(ask)
        limit, seconds, reserve = ask.overall
        args: list[Arg] = [name, int(force), self._lease_ms, POLL * 1000, int(ask.spare_only)]
        args += [WANTED * 1000, limit, seconds * 1000, reserve if ask.spare_only else 0]
        if ask.chat is not None:
            burst, rate, reserve = ask.chat
            args += [burst, 1000 / rate, reserve if ask.spare_only else 0]
        if ask.group is not None:
            limit, seconds, reserve = ask.group
            args += [limit, seconds * 1000, reserve if ask.spare_only else 0]
        return "take", keys.take(), args

    def _keys(self, ask: Ask) -> _Keys:
        p, chat = self._prefix, ask.chat_id
        if chat is None or ask.chat is None:
            return _Keys(p + "pause", p + "all", p + "wanted")
        return _Keys(
            p + "pause",
            p + "all",
            p + "wanted",
            f"{p}pause:{chat}",
            f"{p}c:{chat}",
            f"{p}b:{chat}",
            f"{p}wanted:{chat}",
            f"{p}g:{chat}" if ask.group is not None else None,
        )

    def _send(self, grant: Grant, answered: bool | None) -> None:
        """Queues a count for Redis (None: take the place; else the call is over)."""
        self._pending.append((grant, answered))
        if self._writer is None:
            with contextlib.suppress(RuntimeError):  # no loop: the lease frees the places
                self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        """Sends the queued counts, in order, a pipeline at a time."""
        try:
            while self._pending and self._up and self._client is not None:
                batch, self._pending = self._pending, []
                try:
                    await self._write_batch(self._client, batch)
                except FAILURES as error:
                    self._fall_back(error)
        finally:
            self._pending.clear()
            self._writer = None

    async def _write_batch(self, client: Redis, batch: list[tuple[Grant, bool | None]]) -> None:
        calls = [
            self._take_call(grant.ask, grant.token, force=True)
            if answered is None
            else self._done_call(grant, answered)
            for grant, answered in batch
        ]
        await self._run(client, calls)

    def _done_call(self, grant: Grant, answered: bool) -> Call:
        keys = self._keys(grant.ask)
        windows = keys.windows()
        chat = [keys.flying, keys.bucket] if keys.flying and keys.bucket else []
        per = 1000 / grant.ask.chat[1] if grant.ask.chat is not None else 0
        return "done", [*windows, *chat], [grant.token, int(answered), len(windows), per]

    async def _renew_leases(self, client: Redis) -> None:
        """Moves the deadline of calls in flight for a while (a ping when there are none)."""
        old = time.monotonic() - self._every
        flying = [f for f in self._flying.values() if f.taken_at <= old]
        if not flying:
            await client.ping()
            return
        keys: list[str] = []
        args: list[Arg] = [self._lease_ms]
        for item in flying:
            ask = item.grant.ask
            lengths = [ask.overall[1], ask.group[1] if ask.group else 0.0, 0.0]
            places = [item.keys.overall, item.keys.group, item.keys.flying]
            for key, seconds in zip(places, lengths, strict=True):
                if key is not None:
                    keys.append(key)
                    args += [
                        item.grant.token,
                        math.ceil(self._lease_ms + seconds * 1000) + SLACK_MS,
                    ]
        await self._run(client, [("renew", keys, args)])

    @staticmethod
    async def _run(client: Redis, calls: list[Call]) -> list[Any]:
        """Runs the scripts in one round trip, in order; loads them first if Redis lacks them
        (it started again)."""
        for attempt in range(2):
            async with client.pipeline(transaction=False) as pipe:
                for name, keys, args in calls:
                    await pipe.evalsha(_SHAS[name], len(keys), *keys, *args)
                try:
                    return list(await pipe.execute())
                except NoScriptError:
                    if attempt:
                        raise
            for text in SCRIPTS.values():
                await client.script_load(text)
        raise AssertionError("unreachable")

    # -- up and down ---------------------------------------------------------------------------

    def _granted(self, ask: Ask, name: str | None = None) -> Grant:
        """A grant, counted in the local share too (forced: Redis decided)."""
        grant = Grant(ask, name or next(self._names))
        taken = self._share.take(ask, force=True)
        assert not isinstance(taken, Hold)
        self._local[grant.token] = taken
        return grant

    def _take_local(self, ask: Ask) -> Grant | Hold:
        taken = self._share.take(ask)
        if isinstance(taken, Hold):
            return taken
        grant = Grant(ask, next(self._names))
        self._local[grant.token] = taken
        return grant

    def _fall_back(self, error: BaseException) -> None:
        if not self._up:
            return
        self._up = False
        self._flying.clear()  # their places in Redis free themselves when their leases end
        log.warning(
            "Redis at %s is unreachable (%s: %s): this replica keeps to 1/%d of the flood "
            "budget until it is back",
            _shown(self._url),
            type(error).__name__,
            error,
            self._share.replicas,
        )

    async def _maintain(self) -> None:
        """Renews leases while Redis is up; tries it again every few seconds while it is down."""
        while self._client is not None:
            await asyncio.sleep(self._every)
            try:
                await self._tend(self._client)
            except Exception:  # a bug here must not stop the renewals for good
                log.exception("the flood budget's upkeep failed")

    async def _tend(self, client: Redis) -> None:
        if self._up:
            if time.monotonic() - self._counted_at >= REPLICAS_EVERY:
                await self._count_replicas()
            try:
                await self._renew_leases(client)
            except FAILURES as error:
                self._fall_back(error)
            return
        await self._count_replicas()
        with contextlib.suppress(*FAILURES):
            await client.ping()
            self._up = True
            log.info("Redis at %s is back: the flood budget is shared again", _shown(self._url))

    async def _count_replicas(self) -> None:
        """Asks how many replicas are alive; keeps the last answer when that fails."""
        self._counted_at = time.monotonic()
        if self._replicas_alive is None:
            return
        try:
            replicas = max(1, int(await asyncio.wait_for(self._replicas_alive(), TIMEOUT)))
        except Exception as error:  # the database may be down too: keep the last count
            log.debug("could not count the replicas alive: %r", error)
            return
        if replicas != self._share.replicas:
            self._share = LocalShare(replicas)  # grants taken before give back to the old one
