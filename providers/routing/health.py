"""How each provider has been doing, from real jobs: a circuit breaker per provider.

A provider that fails ``FAILURES_TO_TRIP`` times in a row for reasons of its own (it cannot be
reached, answers 5xx, times out, is out of quota, refuses our key, sends something unreadable)
is down for a cool-down that doubles while it stays down. Jobs skip a down provider; once the
cool-down has passed, one job at a time is let through as a probe, and its outcome decides.
A user's mistakes (a bad option, an unknown model) never count.

A provider that has spent its daily budget (the host's credits, see :meth:`HealthBook.over_budget`)
is skipped the same way until the moment the host names, without counting as a failure.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from providers.core.errors import (
    ErrorCode,
    InvalidOption,
    Param,
    ProviderError,
    Refused,
    UnknownModel,
)

FAILURES_TO_TRIP = 3
FIRST_COOL_DOWN = 60.0
LONGEST_COOL_DOWN = 30 * 60.0
RECENT_JOBS = 20
"""How many recent outcomes the success rate and the typical duration are computed over."""


class State(StrEnum):
    UP = "up"
    FAILING = "failing"
    DOWN = "down"


def counts_against_provider(error: BaseException) -> bool:
    """Whether ``error`` is the provider's own failure (not the user's mistake, not a cancel)."""
    return isinstance(error, ProviderError) and not isinstance(
        error, InvalidOption | UnknownModel | Refused
    )


@dataclass(frozen=True)
class Health:
    """One provider's record; times are Unix seconds."""

    provider: str
    failures_in_a_row: int = 0
    last_success: float | None = None
    last_failure: float | None = None
    last_error: str | None = None
    """The last failure as the user saw it in English ("ARTA: cannot be reached right now")."""
    last_error_code: ErrorCode | None = None
    """The last failure's code and params (None for a record saved before codes), so it can
    be worded in any language."""
    last_error_params: Mapping[str, Param] = field(default_factory=dict, hash=False)
    down_until: float | None = None
    cool_down: float = 0.0
    recent: tuple[tuple[bool, float], ...] = field(default=())
    """(succeeded, seconds) of the latest jobs, oldest first."""

    @property
    def state(self) -> State:
        """Down from the trip until a probe succeeds; failing after a failure; up otherwise."""
        if self.down_until is not None:
            return State.DOWN
        return State.FAILING if self.failures_in_a_row else State.UP

    @property
    def success_rate(self) -> float | None:
        """The share of recent jobs that succeeded, or None before the first job."""
        if not self.recent:
            return None
        return sum(ok for ok, _ in self.recent) / len(self.recent)

    @property
    def typical_duration(self) -> float | None:
        """The median seconds of recent successful jobs."""
        durations = [seconds for ok, seconds in self.recent if ok]
        return statistics.median(durations) if durations else None


class HealthStore(Protocol):
    """Where records survive a restart (the bot's database; memory for the CLI)."""

    async def load_health(self) -> list[Health]: ...

    async def save_health(self, health: Health) -> None: ...


class MemoryHealthStore:
    """A store that forgets everything when the process ends."""

    def __init__(self) -> None:
        self.saved: dict[str, Health] = {}

    async def load_health(self) -> list[Health]:
        return list(self.saved.values())

    async def save_health(self, health: Health) -> None:
        self.saved[health.provider] = health


class HealthBook:
    """Every provider's health; decides whether a job may use a provider now."""

    def __init__(self, store: HealthStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._records: dict[str, Health] = {}
        self._probing: set[str] = set()
        self._budgets: dict[str, float] = {}  # provider -> when its spent budget renews

    @classmethod
    async def open(cls, store: HealthStore) -> HealthBook:
        """A book with the records ``store`` kept."""
        book = cls(store)
        book._records = {h.provider: h for h in await store.load_health()}
        return book

    def of(self, provider: str) -> Health:
        return self._records.get(provider) or Health(provider)

    def all(self, providers: Iterable[str]) -> list[Health]:
        return [self.of(name) for name in providers]

    def is_down(self, provider: str) -> bool:
        """Whether jobs should skip the provider right now (down, and no probe is due)."""
        health = self.of(provider)
        if health.down_until is None:
            return False
        return health.down_until > self.clock() or provider in self._probing

    def over_budget(self, provider: str, until: float) -> None:
        """Jobs skip the provider until ``until`` (Unix seconds): it has spent its budget."""
        self._budgets[provider] = max(until, self._budgets.get(provider, until))

    def is_over_budget(self, provider: str) -> bool:
        """Whether the provider has spent its budget and it has not renewed yet."""
        return self.budget_until(provider) is not None

    def budget_until(self, provider: str) -> float | None:
        """When the provider's spent budget renews (Unix seconds), or None when it is within
        its budget (or has none)."""
        until = self._budgets.get(provider)
        if until is None or until <= self.clock():
            self._budgets.pop(provider, None)
            return None
        return until

    def admit(self, provider: str) -> bool:
        """Whether a job may use the provider now: not while it is over its budget; a down
        provider past its cool-down lets exactly one job through as a probe (call
        :meth:`succeeded`, :meth:`failed` or :meth:`released` when it ends)."""
        if self.is_down(provider) or self.is_over_budget(provider):
            return False
        if self.of(provider).down_until is not None:
            self._probing.add(provider)
        return True

    def released(self, provider: str) -> None:
        """A job ended without telling anything about the provider (cancelled, user error)."""
        self._probing.discard(provider)

    async def succeeded(self, provider: str, seconds: float) -> None:
        self._probing.discard(provider)
        health = self.of(provider)
        await self._save(
            replace(
                health,
                failures_in_a_row=0,
                last_success=self.clock(),
                down_until=None,
                cool_down=0.0,
                recent=(*health.recent, (True, seconds))[-RECENT_JOBS:],
            )
        )

    async def failed(self, provider: str, error: ProviderError, seconds: float) -> None:
        """Counts the failure; the provider goes (or stays) down once it has failed too often."""
        self._probing.discard(provider)
        health = self.of(provider)
        now = self.clock()
        failures = health.failures_in_a_row + 1
        down_until, cool_down = health.down_until, health.cool_down
        if failures >= FAILURES_TO_TRIP:
            cool_down = (
                min(cool_down * 2, LONGEST_COOL_DOWN) if down_until is not None else FIRST_COOL_DOWN
            )
            down_until = now + cool_down
        await self._save(
            replace(
                health,
                failures_in_a_row=failures,
                last_failure=now,
                last_error=error.user_message,
                last_error_code=error.code,
                last_error_params=dict(error.params),
                down_until=down_until,
                cool_down=cool_down,
                recent=(*health.recent, (False, seconds))[-RECENT_JOBS:],
            )
        )

    async def _save(self, health: Health) -> None:
        self._records[health.provider] = health
        await self.store.save_health(health)
