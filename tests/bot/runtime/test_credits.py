"""Credits as users and operators meet them: free credits renew at UTC midnight (or the first
of the month), bought ones are spent last and never expire, a job is charged only what it
delivered, nobody overspends, payments count once, and a provider past its daily budget is
skipped until midnight."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.runtime.credits import (
    AlreadyRefunded,
    AlreadySpent,
    Balance,
    Credits,
    NotEnoughCredits,
    Pack,
    Refund,
    UnknownCharge,
)
from bot.settings import BotSettings, SettingsError, load_settings
from bot.storage.database import Storage
from providers import (
    ErrorCode,
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Kind,
    ModelSpec,
    Provider,
    ProviderContext,
    Registry,
    Switched,
)
from providers.routing.fallback import candidates, generate_with_fallback
from providers.routing.health import HealthBook, MemoryHealthStore
from tests.helpers import provider_context

TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtok"
USER, OTHER, ADMIN = 7, 8, 99


class Painter(Provider):
    """A provider that always draws, priced by its entry."""

    def __init__(self, name: str, cost: int | None = None, max_daily_cost: int | None = None):
        self.name, self.label = name, name.title()
        self.cost, self.max_daily_cost = cost, max_daily_cost
        self.drawn = 0

    def offers(self) -> Sequence[ModelSpec]:
        options = ImageOptions(max_images=4)
        return [
            ModelSpec("flux", "up-flux", Kind.IMAGE, options),
            ModelSpec("sdxl", "up-sdxl", Kind.IMAGE, options),
        ]

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        self.drawn += 1
        yield ImageResponse([b"png"], request.prompt, seed=1, model=upstream)


class Clock:
    def __init__(self, when: str) -> None:
        self.now = at(when)

    def __call__(self) -> float:
        return self.now


def at(when: str) -> float:
    return datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()


def settings(tmp_path: Path, **values: Any) -> BotSettings:
    values.setdefault("free_credits", 5)
    return load_settings(_env_file=None, telegram_bot_token=TOKEN, data_dir=tmp_path, **values)


class World:
    """Credits on a real SQLite file, three providers, one clock for credits and health."""

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        self.tmp_path, self.clock = tmp_path, clock
        self.fal = Painter("fal", cost=3, max_daily_cost=10)
        self.openai = Painter("openai", cost=1)
        self.free = Painter("free")
        self.registry = Registry([self.fal, self.openai, self.free])
        self.health = HealthBook(MemoryHealthStore(), clock)
        self.storage: Storage | None = None

    async def credits(self, **values: Any) -> Credits:
        if self.storage is None:
            self.storage = await Storage.open(self.tmp_path / "bot.sqlite3")
        values.setdefault("admin_user_ids", str(ADMIN))
        return Credits(
            settings(self.tmp_path, **values), self.storage, self.registry, self.health, self.clock
        )

    async def restart(self, **values: Any) -> Credits:
        """The bot stops and starts again: a fresh storage connection and provider health."""
        await self.close()
        self.health = HealthBook(MemoryHealthStore(), self.clock)
        return await self.credits(**values)

    async def close(self) -> None:
        if self.storage is not None:
            await self.storage.close()
            self.storage = None


@pytest.fixture
def clock() -> Clock:
    return Clock("2025-03-09T22:00:00")


@pytest.fixture
async def world(tmp_path: Path, clock: Clock) -> AsyncIterator[World]:
    made = World(tmp_path, clock)
    yield made
    await made.close()


async def test_free_credits_are_spent_first_then_bought_ones(world: World) -> None:
    credits = await world.credits()
    fal = world.registry.resolve("fal/flux")
    await credits.grant(USER, 4, by_user=ADMIN)
    await credits.reserve("job-1", USER, fal, 3)
    await credits.settle("job-1")
    balance = await credits.balance(USER)
    assert (balance.free_left, balance.bought, balance.total) == (2, 4, 6)
    await credits.reserve("job-2", USER, fal, 3)  # the 2 free left and 1 bought
    await credits.settle("job-2")
    assert await credits.balance(USER) == Balance(0, 5, 3, at("2025-03-10T00:00:00"))


async def test_free_credits_renew_at_utc_midnight(world: World, clock: Clock) -> None:
    credits = await world.credits()
    await credits.reserve("job", USER, world.registry.resolve("fal/flux"), 5)
    assert (await credits.balance(USER)).free_left == 0
    clock.now = at("2025-03-10T00:00:00")
    balance = await credits.balance(USER)
    assert (balance.free_left, balance.renews_at) == (5, at("2025-03-11T00:00:00"))
    await credits.release("job")  # held yesterday: yesterday's free credits do not come back
    assert (await credits.balance(USER)).free_left == 5


async def test_monthly_free_credits_renew_on_the_first(world: World, clock: Clock) -> None:
    clock.now = at("2025-12-31T23:59:00")
    credits = await world.credits(credits_period="month", free_credits=10)
    await credits.reserve("job", USER, world.registry.resolve("fal/flux"), 9)
    await credits.settle("job")
    clock.now = at("2025-12-31T23:59:59")
    assert (await credits.balance(USER)).free_left == 1
    clock.now = at("2026-01-01T00:00:00")
    assert await credits.balance(USER) == Balance(10, 10, 0, at("2026-02-01T00:00:00"))


async def test_too_few_credits_are_refused_before_anything_is_held(world: World) -> None:
    credits = await world.credits()
    fal = world.registry.resolve("fal/flux")
    await credits.reserve("first", USER, fal, 4)
    with pytest.raises(NotEnoughCredits) as refused:
        await credits.reserve("second", USER, fal, 4)
    assert str(refused.value) == "This needs 4 credits; you have 1."
    assert refused.value.needed == 4
    assert refused.value.balance == Balance(1, 5, 0, at("2025-03-10T00:00:00"))
    assert await credits.held("second") == 0
    assert await credits.held("first") == 4


async def test_reserve_settle_and_release_are_idempotent(world: World) -> None:
    credits = await world.credits()
    fal = world.registry.resolve("fal/flux")
    await credits.reserve("job", USER, fal, 3)
    await credits.reserve("job", USER, fal, 3)  # the same job admitted twice: held once
    assert (await credits.held("job"), (await credits.balance(USER)).free_left) == (3, 2)
    assert await credits.settle("job") == 3
    assert await credits.settle("job") == 0
    await credits.release("job")  # already settled: nothing comes back
    assert (await credits.balance(USER)).free_left == 2

    await credits.reserve("failed", USER, fal, 2)
    await credits.release("failed")
    await credits.release("failed")
    assert await credits.settle("failed") == 0
    assert (await credits.balance(USER)).free_left == 2
    assert await credits.settle("never-held") == 0


async def test_a_cheaper_fallback_is_charged_its_own_cost(world: World) -> None:
    credits = await world.credits()
    await credits.grant(USER, 10, by_user=ADMIN)
    fal, openai = world.registry.resolve("fal/flux"), world.registry.resolve("openai/flux")
    await credits.reserve("job", USER, fal, credits.cost_of(fal, 2))  # 6: 5 free, 1 bought
    charged = await credits.settle("job", credits.cost_of(openai, 2), openai.provider.name)
    assert charged == 2
    balance = await credits.balance(USER)
    assert (balance.free_left, balance.bought) == (3, 10)  # the rest back, bought first
    assert await world.storage.spent_on("2025-03-09") == {"openai": 2}  # type: ignore[union-attr]


async def test_concurrent_jobs_never_overspend(world: World) -> None:
    count = 6
    credits = await world.credits(free_credits=0)
    await credits.grant(USER, count - 1, by_user=ADMIN)
    fal = world.registry.resolve("fal/flux")
    outcomes = await asyncio.gather(
        *(credits.reserve(f"job-{i}", USER, fal, 1) for i in range(count)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, NotEnoughCredits)]
    assert len(refused) == 1 and all(o is None or o in refused for o in outcomes)
    assert (await credits.balance(USER)).total == 0
    for i in range(count):
        await credits.settle(f"job-{i}")
    assert (await credits.balance(USER)).total == 0


async def test_a_restart_keeps_holds_and_charges_them_once(world: World) -> None:
    credits = await world.credits()
    fal = world.registry.resolve("fal/flux")
    await credits.reserve("delivered", USER, fal, 2)
    await credits.reserve("interrupted", USER, fal, 3)
    credits = await world.restart()
    assert await credits.held("delivered") == 2
    assert await credits.settle("delivered") == 2
    await credits.release("interrupted")
    credits = await world.restart()
    assert await credits.settle("delivered") == 0
    assert (await credits.balance(USER)).free_left == 3


async def test_users_pay_for_themselves_and_admins_never(world: World) -> None:
    credits = await world.credits()
    fal = world.registry.resolve("fal/flux")
    await credits.reserve("mine", USER, fal, 5)
    assert (await credits.balance(OTHER)).free_left == 5
    assert credits.exempt(ADMIN) and not credits.exempt(USER)
    await credits.reserve("admin", ADMIN, fal, 500)
    assert await credits.held("admin") == 0
    assert await credits.settle("admin") == 0


async def test_payments_count_once_per_charge_id(world: World, clock: Clock) -> None:
    credits = await world.credits(stars_packs="50=100,250=600")
    assert credits.packs == [Pack(50, 100), Pack(250, 600)]
    assert await credits.credit_payment("ch-1", USER, 50, 100)
    assert not await credits.credit_payment("ch-1", USER, 50, 100)
    credits = await world.restart(stars_packs="50=100")
    assert not await credits.credit_payment("ch-1", USER, 50, 100)  # redelivered after a restart
    assert (await credits.balance(USER)).bought == 100
    clock.now += 60
    assert await credits.credit_payment("ch-2", OTHER, 250, 600)
    assert [(p.charge_id, p.user_id) for p in await credits.payments()] == [
        ("ch-2", OTHER),
        ("ch-1", USER),
    ]


async def test_refunds(world: World) -> None:
    credits = await world.credits(free_credits=0)
    await credits.credit_payment("ch-1", USER, 50, 100)
    await credits.credit_payment("ch-2", USER, 250, 600)
    with pytest.raises(UnknownCharge):
        await credits.refund("ch-unknown")
    assert await credits.refund("ch-2") == Refund(USER, 250, 600)
    with pytest.raises(AlreadyRefunded):
        await credits.refund("ch-2")
    await credits.reserve("job", USER, world.registry.resolve("fal/flux"), 30)
    await credits.settle("job")
    with pytest.raises(AlreadySpent):
        await credits.refund("ch-1")
    assert (await credits.balance(USER)).bought == 70
    assert await credits.refund("ch-1", force=True) == Refund(USER, 50, 100)
    assert (await credits.balance(USER)).bought == 0
    refunded = [p.refunded_at is not None for p in await credits.payments()]
    assert refunded == [True, True]


async def test_grants_add_bought_credits_and_refuse_nonsense(world: World) -> None:
    credits = await world.credits()
    balance = await credits.grant(USER, 25, by_user=ADMIN)
    assert (balance.free_left, balance.bought) == (5, 25)
    for wrong in (-5, 0, 10**9):
        with pytest.raises(ValueError):
            await credits.grant(USER, wrong, by_user=ADMIN)
    assert (await credits.balance(USER)).bought == 25


async def test_model_costs_first_match_wins_then_the_entry_then_nothing(world: World) -> None:
    credits = await world.credits(model_costs="fal/sdxl=7, fal/*=2, *flux=4")
    cost = {e.id: credits.cost_of(e) for e in world.registry.entries_of(Kind.IMAGE)}
    assert cost == {
        "fal/flux": 2,
        "fal/sdxl": 7,
        "openai/flux": 4,
        "openai/sdxl": 1,  # its entry's cost
        "free/flux": 4,
        "free/sdxl": 0,
    }
    assert credits.cost_of(world.registry.resolve("fal/sdxl"), pictures=3) == 21


async def test_without_free_credits_nothing_is_counted(world: World) -> None:
    credits = await world.credits(free_credits=None, model_costs="*=3")
    fal = world.registry.resolve("fal/flux")
    assert not credits.enabled
    assert credits.cost_of(fal, 4) == 0
    await credits.reserve("job", USER, fal, 100)
    assert await credits.held("job") == 0
    assert await credits.settle("job") == 0
    assert (await credits.balance(USER)).total == 0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("model_costs", "openai/*", "MODEL_COSTS: .*'openai/\\*' is not pattern=credits"),
        ("model_costs", "openai/*=-1", "MODEL_COSTS: .*whole number from 0 to 1000000"),
        ("model_costs", "a b=1", "MODEL_COSTS: .*is not pattern=credits"),
        ("model_costs", "fal/*=2000000", "MODEL_COSTS: .*from 0 to 1000000"),
        ("stars_packs", "50", "STARS_PACKS: .*'50' is not stars=credits"),
        ("stars_packs", "0=100", "STARS_PACKS: .*stars must be a whole number from 1 to 10000"),
        ("stars_packs", "50=abc", "STARS_PACKS: .*credits must be a whole number"),
        ("stars_packs", "50=1,50=2", "STARS_PACKS: .*two packs cost 50 stars"),
        ("credits_period", "week", "CREDITS_PERIOD: "),
        ("free_credits", "-1", "FREE_CREDITS: "),
    ],
)
def test_malformed_credit_settings_stop_the_start_in_one_line(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as error:
        settings(tmp_path, **{variable: value})
    assert "\n" not in str(error.value)


def test_packs_without_credit_accounting_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STARS_PACKS needs FREE_CREDITS"):
        settings(tmp_path, free_credits=None, stars_packs="50=100")
    assert settings(tmp_path, free_credits="", stars_packs="").free_credits is None


async def test_a_provider_past_its_daily_budget_is_skipped_until_midnight(
    world: World, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    credits = await world.credits(free_credits=100)
    fal = world.registry.resolve("fal/flux")
    for job in range(3):  # 9 of fal's 10 credits a day
        await credits.reserve(f"job-{job}", USER, fal, 3)
        await credits.settle(f"job-{job}")
    assert world.health.admit("fal")
    with caplog.at_level(logging.WARNING, logger="bot.runtime.credits"):
        await credits.reserve("job-3", OTHER, fal, 3)
        await credits.settle("job-3")
        await credits.reserve("job-4", OTHER, fal, 3)  # already running when the budget ran out
        await credits.settle("job-4")
    assert [r.getMessage() for r in caplog.records] == [
        "Fal (fal) has spent its daily budget (12 of max_daily_cost 10 credits); jobs skip it "
        "until 2025-03-10 00:00 UTC"
    ]
    assert world.health.budget_until("fal") == at("2025-03-10T00:00:00")

    async with provider_context(tmp_path) as context:
        chain = candidates(world.registry, fal, None)
        events = [
            e
            async for e in generate_with_fallback(chain, ImageRequest("fox"), context, world.health)
        ]
    switched = next(e for e in events if isinstance(e, Switched))
    assert (switched.from_model, switched.reason.code) == ("fal/flux", ErrorCode.OVER_BUDGET)
    assert isinstance(events[-1], ImageResponse) and world.fal.drawn == 0

    credits = await world.restart()
    assert world.health.admit("fal")  # a fresh start knows nothing yet
    await credits.restore_budgets()
    assert world.health.is_over_budget("fal") and not world.health.admit("fal")
    clock.now = at("2025-03-10T00:00:00")
    assert world.health.admit("fal") and world.health.budget_until("fal") is None
    await credits.restore_budgets()  # a new day: nothing spent yet
    assert world.health.admit("fal")
