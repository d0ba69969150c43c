"""Credits: what a picture costs, what a user has, and the rule a job is charged by.

Off unless FREE_CREDITS is set (a private bot behaves as without credits). Each user gets
FREE_CREDITS per CREDITS_PERIOD (a UTC day or month) and keeps bought credits, which never
expire and are spent after the free ones. A job :meth:`Credits.reserve`\\ s its cost when it is
admitted, and when it ends either :meth:`Credits.settle`\\ s (charged for what was delivered,
the rest back) or :meth:`Credits.release`\\ s (nothing charged). What is spent counts towards
the provider's ``max_daily_cost``; past it the provider is skipped until the next UTC midnight.
ADMIN_USER_IDS are never charged.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.settings import MAX_PACK_CREDITS, BotSettings, parse_model_costs, parse_stars_packs
from bot.storage.credits import AlreadyRefunded, AlreadySpent, TooFewCredits, UnknownCharge
from bot.storage.database import Storage
from bot.storage.records import PaymentRecord
from providers import ModelEntry, Provider, Registry
from providers.routing.health import HealthBook

log = logging.getLogger(__name__)

__all__ = [
    "AlreadyRefunded",
    "AlreadySpent",
    "Balance",
    "Credits",
    "NotEnoughCredits",
    "Pack",
    "PaymentRecord",
    "Refund",
    "UnknownCharge",
]

Period = Literal["day", "month"]

MAX_GRANT = MAX_PACK_CREDITS
"""The most credits one /grant may give."""


@dataclass(frozen=True)
class Pack:
    """One STARS_PACKS item: ``credits`` for ``stars`` Telegram Stars."""

    stars: int
    credits: int


@dataclass(frozen=True)
class Balance:
    """A user's credits: free ones left in this period, how many a period brings, bought ones,
    and when the free ones renew (Unix time of the next UTC day or month)."""

    free_left: int
    free_per_period: int
    bought: int
    renews_at: float

    @property
    def total(self) -> int:
        """All the credits the user may spend now."""
        return self.free_left + self.bought


class NotEnoughCredits(Exception):
    """A job needs ``needed`` credits and the user's ``balance`` has fewer; nothing was held."""

    def __init__(self, needed: int, balance: Balance) -> None:
        super().__init__(f"This needs {needed} credits; you have {balance.total}.")
        self.needed = needed
        self.balance = balance


@dataclass(frozen=True)
class Refund:
    """A refunded payment: whose, the stars to give back, the credits taken back."""

    user_id: int
    stars: int
    credits: int


class Credits:
    """Every user's credits and each provider's daily budget (see the module's docstring)."""

    def __init__(
        self,
        settings: BotSettings,
        storage: Storage,
        registry: Registry,
        health: HealthBook,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = settings.free_credits is not None
        self.free_per_period = settings.free_credits or 0
        self.period: Period = settings.credits_period
        self.packs = [
            Pack(stars, credits) for stars, credits in parse_stars_packs(settings.stars_packs)
        ]
        self._costs = [
            (_glob(pattern), credits)
            for pattern, credits in parse_model_costs(settings.model_costs)
        ]
        self._admins = settings.admin_user_ids
        self._storage = storage
        self._providers: dict[str, Provider] = {p.name: p for p in registry.providers}
        self._health = health
        self._now = now
        self._told: set[tuple[str, str]] = set()  # (provider, day) the operator was told of

    def cost_of(self, entry: ModelEntry, pictures: int = 1) -> int:
        """Credits ``pictures`` pictures of ``entry`` cost: the first MODEL_COSTS pattern that
        matches its id, else its provider entry's ``cost``, else 0 (always 0 when disabled)."""
        if not self.enabled:
            return 0
        each = next(
            (credits for pattern, credits in self._costs if pattern.fullmatch(entry.id.lower())),
            entry.provider.cost or 0,
        )
        return each * max(pictures, 0)

    def exempt(self, user_id: int) -> bool:
        """Whether the user is never charged (ADMIN_USER_IDS)."""
        return user_id in self._admins

    async def balance(self, user_id: int) -> Balance:
        """The user's credits now (all zero when disabled)."""
        renews_at = next_period_start(self._now(), self.period)
        if not self.enabled:
            return Balance(0, 0, 0, renews_at)
        account = await self._storage.credit_account(user_id, self._period_now())
        free_left = max(0, self.free_per_period - account.free_used)
        return Balance(free_left, self.free_per_period, account.bought, renews_at)

    async def reserve(self, key: str, user_id: int, entry: ModelEntry, amount: int) -> None:
        """Holds ``amount`` of the user's credits under ``key`` (free ones first, then bought)
        for a job on ``entry``. Nothing is held for 0, an exempt user, or when disabled; a key
        already held is left as it is. Raises :class:`NotEnoughCredits` (nothing held) when
        the user has fewer; concurrent reserves never spend more than the user has."""
        if not self.enabled or amount <= 0 or self.exempt(user_id):
            return
        try:
            await self._storage.hold_credits(
                key,
                user_id,
                entry.provider.name,
                amount,
                free_per_period=self.free_per_period,
                period=self._period_now(),
                now=self._now(),
            )
        except TooFewCredits as short:
            balance = Balance(
                short.free_left,
                self.free_per_period,
                short.account.bought,
                next_period_start(self._now(), self.period),
            )
            raise NotEnoughCredits(amount, balance) from None

    async def settle(self, key: str, amount: int | None = None, provider: str | None = None) -> int:
        """Charges ``amount`` of the hold under ``key`` (None: all of it; never more than held)
        as spent on the provider named ``provider`` (None: the one reserved for) and gives
        the rest back. The provider that reaches its ``max_daily_cost`` is skipped until the
        next UTC midnight (told once in a WARNING). The credits charged; 0 for an unknown key
        (settled or released before) and when disabled (the hold is given back then)."""
        if not self.enabled:
            await self.release(key)
            return 0
        moment = self._now()
        settled = await self._storage.settle_hold(
            key,
            amount,
            provider,
            period=period_of(moment, self.period),
            day=period_of(moment, "day"),
            now=moment,
        )
        if settled is None:
            return 0
        if settled.charged:
            self._check_budget(settled.provider, settled.day, settled.provider_day_total)
        return settled.charged

    async def release(self, key: str) -> None:
        """Gives everything held under ``key`` back (free credits only if their period has not
        renewed since); nothing happens for an unknown key."""
        await self._storage.release_hold(key, period=self._period_now())

    async def held(self, key: str) -> int:
        """The credits held under ``key`` (0 when none)."""
        return await self._storage.held_credits(key)

    async def grant(self, user_id: int, credits: int, by_user: int) -> Balance:
        """Adds ``credits`` bought credits to the user (recorded with the granting admin);
        the user's balance after it. ValueError (English) for fewer than 1 or more than
        :data:`MAX_GRANT`."""
        if not 1 <= credits <= MAX_GRANT:
            raise ValueError(f"Grant from 1 to {MAX_GRANT} credits.")
        await self._storage.grant_credits(
            user_id, credits, by_user, period=self._period_now(), now=self._now()
        )
        return await self.balance(user_id)

    async def credit_payment(self, charge_id: str, user_id: int, stars: int, credits: int) -> bool:
        """Records a Telegram Stars payment and adds its credits to the user's bought ones,
        once per ``charge_id`` (stored before anything is confirmed to the user): False when
        that charge id was already credited. Recorded even when credits are disabled."""
        return await self._storage.record_payment(
            charge_id, user_id, stars, credits, period=self._period_now(), now=self._now()
        )

    async def refund(self, charge_id: str, *, force: bool = False) -> Refund:
        """Marks the payment refunded and takes its credits back; what to give back to whom.

        Raises :class:`UnknownCharge`, :class:`AlreadyRefunded`, or :class:`AlreadySpent`
        when the user has fewer bought credits left than it brought (with ``force`` they go
        down to 0 instead). Nothing changes when it raises."""
        payment = await self._storage.refund_payment(charge_id, force=force, now=self._now())
        return Refund(payment.user_id, payment.stars, payment.credits)

    async def payment(self, charge_id: str) -> PaymentRecord | None:
        """The payment with this Telegram charge id, or None."""
        return await self._storage.find_payment(charge_id)

    async def payments(self, limit: int = 20) -> list[PaymentRecord]:
        """The latest ``limit`` payments, newest first, refunded ones with their time."""
        return await self._storage.list_payments(limit)

    async def restore_budgets(self) -> None:
        """At start: marks the providers that already spent today's budget (from the stored
        spends) as over it until the next UTC midnight."""
        moment = self._now()
        day = period_of(moment, "day")
        spent = await self._storage.spent_on(day)
        for name, total in spent.items():
            self._check_budget(name, day, total)

    def _check_budget(self, name: str, day: str, total: int) -> None:
        """Marks the provider over budget until the next UTC midnight once ``total`` (spent on
        ``day``) reaches its max_daily_cost, telling the operator once a day."""
        provider = self._providers.get(name)
        if provider is None or provider.max_daily_cost is None:
            return
        if total < provider.max_daily_cost:
            return
        until = next_period_start(self._now(), "day")
        self._health.over_budget(provider.name, until)
        if (provider.name, day) in self._told:
            return
        self._told.add((provider.name, day))
        log.warning(
            "%s (%s) has spent its daily budget (%d of max_daily_cost %d credits); jobs skip "
            "it until %s UTC",
            provider.label,
            provider.name,
            total,
            provider.max_daily_cost,
            datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M"),
        )

    def _period_now(self) -> str:
        return period_of(self._now(), self.period)


def period_of(moment: float, period: Period) -> str:
    """The UTC day ('YYYY-MM-DD') or month ('YYYY-MM') that Unix time ``moment`` falls in."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def next_period_start(moment: float, period: Period) -> float:
    """Unix time of the next UTC midnight (day) or first of a month (month) after ``moment``."""
    now = datetime.fromtimestamp(moment, UTC)
    if period == "day":
        start = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    elif now.month == 12:
        start = datetime(now.year + 1, 1, 1, tzinfo=UTC)
    else:
        start = datetime(now.year, now.month + 1, 1, tzinfo=UTC)
    return start.timestamp()


def _glob(pattern: str) -> re.Pattern[str]:
    """A MODEL_COSTS pattern as a regex over a whole model id: ``*`` is any run of characters."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
