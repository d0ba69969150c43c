"""The credits store: holds take free credits before bought ones, every change is keyed and
whole, a new period renews the free credits, and all of it survives a restart."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.credits import AlreadyRefunded, AlreadySpent, TooFewCredits, UnknownCharge
from bot.storage.database import Storage
from bot.storage.records import CreditAccount
from bot.storage.schema import MIGRATIONS

DAY, NEXT_DAY = "2025-03-09", "2025-03-10"
USER = 7


@pytest.fixture
async def storage(database: Path | str) -> AsyncIterator[Storage]:
    opened = await Storage.open(database)
    yield opened
    await opened.close()


async def hold(
    storage: Storage, key: str, amount: int, *, free: int = 5, period: str = DAY
) -> None:
    await storage.hold_credits(
        key, USER, "fal", amount, free_per_period=free, period=period, now=1.0
    )


async def test_a_hold_takes_the_free_credits_first_then_the_bought_ones(storage: Storage) -> None:
    await storage.grant_credits(USER, 10, 1, period=DAY, now=1.0)
    await hold(storage, "a", 3)
    assert await storage.credit_account(USER, DAY) == CreditAccount(USER, 3, 10)
    await hold(storage, "b", 4)  # the 2 free left, then 2 bought
    assert await storage.credit_account(USER, DAY) == CreditAccount(USER, 5, 8)
    with pytest.raises(TooFewCredits) as short:
        await hold(storage, "c", 9)
    assert (short.value.free_left, short.value.account.bought) == (0, 8)
    assert await storage.held_credits("c") == 0  # nothing held, nothing taken
    assert await storage.credit_account(USER, DAY) == CreditAccount(USER, 5, 8)


async def test_holding_a_key_twice_holds_once(storage: Storage) -> None:
    await hold(storage, "job-1", 2)
    await hold(storage, "job-1", 2)
    assert await storage.held_credits("job-1") == 2
    assert (await storage.credit_account(USER, DAY)).free_used == 2


async def test_settling_charges_part_and_gives_back_bought_credits_first(storage: Storage) -> None:
    await storage.grant_credits(USER, 10, 1, period=DAY, now=1.0)
    await hold(storage, "job", 8)  # 5 free + 3 bought
    settled = await storage.settle_hold("job", 4, "replicate", period=DAY, day=DAY, now=2.0)
    assert settled is not None
    assert (settled.charged, settled.provider, settled.provider_day_total) == (4, "replicate", 4)
    # The 4 given back are the 3 bought and 1 free: the 4 charged were free credits.
    assert await storage.credit_account(USER, DAY) == CreditAccount(USER, 4, 10)
    assert await storage.spent_on(DAY) == {"replicate": 4}
    assert await storage.settle_hold("job", None, None, period=DAY, day=DAY, now=3.0) is None
    assert await storage.release_hold("job", period=DAY) == 0
    assert await storage.credit_account(USER, DAY) == CreditAccount(USER, 4, 10)


async def test_settling_never_charges_more_than_held(storage: Storage) -> None:
    await hold(storage, "job", 2)
    settled = await storage.settle_hold("job", 50, None, period=DAY, day=DAY, now=2.0)
    assert settled is not None and (settled.charged, settled.provider) == (2, "fal")


async def test_a_new_period_renews_the_free_credits_and_keeps_the_bought(
    storage: Storage,
) -> None:
    await storage.grant_credits(USER, 3, 1, period=DAY, now=1.0)
    await hold(storage, "old", 7)  # 5 free + 2 bought
    assert await storage.credit_account(USER, NEXT_DAY) == CreditAccount(USER, 0, 1)
    # Released after midnight: the bought part comes back, the free part was renewed anyway.
    assert await storage.release_hold("old", period=NEXT_DAY) == 7
    assert await storage.credit_account(USER, NEXT_DAY) == CreditAccount(USER, 0, 3)
    await hold(storage, "new", 6, period=NEXT_DAY)
    assert await storage.credit_account(USER, NEXT_DAY) == CreditAccount(USER, 5, 2)


async def test_holds_payments_and_spends_survive_a_restart(database: Path | str) -> None:
    path = database
    storage = await Storage.open(path)
    assert await storage.record_payment("ch-1", USER, 50, 100, period=DAY, now=1.0)
    await hold(storage, "job", 7)
    await storage.settle_hold("job", 1, None, period=DAY, day=DAY, now=1.0)
    await hold(storage, "job-2", 3)
    await storage.close()

    storage = await Storage.open(path)
    try:
        assert await storage.held_credits("job-2") == 3
        assert await storage.spent_on(DAY) == {"fal": 1}
        assert not await storage.record_payment("ch-1", USER, 50, 100, period=DAY, now=2.0)
        assert await storage.release_hold("job-2", period=DAY) == 3
        assert await storage.credit_account(USER, DAY) == CreditAccount(USER, 1, 100)
    finally:
        await storage.close()


async def test_a_payment_is_credited_once_per_charge_id(storage: Storage) -> None:
    assert await storage.record_payment("ch-1", USER, 50, 100, period=DAY, now=1.0)
    assert not await storage.record_payment("ch-1", USER, 50, 100, period=DAY, now=2.0)
    assert await storage.record_payment("ch-2", USER, 250, 600, period=DAY, now=3.0)
    assert (await storage.credit_account(USER, DAY)).bought == 700
    listed = await storage.list_payments(10)
    assert [(p.charge_id, p.stars, p.credits, p.created_at) for p in listed] == [
        ("ch-2", 250, 600, 3.0),
        ("ch-1", 50, 100, 1.0),
    ]
    assert [p.charge_id for p in await storage.list_payments(1)] == ["ch-2"]


async def test_refunds_take_the_credits_back_once(storage: Storage) -> None:
    await storage.record_payment("ch-1", USER, 50, 100, period=DAY, now=1.0)
    with pytest.raises(UnknownCharge):
        await storage.refund_payment("nope", force=False, now=2.0)
    refunded = await storage.refund_payment("ch-1", force=False, now=2.0)
    assert (refunded.user_id, refunded.stars, refunded.credits) == (USER, 50, 100)
    assert (await storage.credit_account(USER, DAY)).bought == 0
    with pytest.raises(AlreadyRefunded):
        await storage.refund_payment("ch-1", force=True, now=3.0)
    (listed,) = await storage.list_payments(5)
    assert listed.refunded_at == 2.0


async def test_a_spent_payment_is_refunded_only_when_forced(storage: Storage) -> None:
    await storage.record_payment("ch-1", USER, 50, 100, period=DAY, now=1.0)
    await hold(storage, "job", 45, free=5)  # 40 bought credits held
    with pytest.raises(AlreadySpent) as spent:
        await storage.refund_payment("ch-1", force=False, now=2.0)
    assert spent.value.bought == 60
    assert (await storage.credit_account(USER, DAY)).bought == 60  # unchanged
    await storage.refund_payment("ch-1", force=True, now=2.0)
    assert (await storage.credit_account(USER, DAY)).bought == 0


async def test_concurrent_holds_never_overspend(storage: Storage) -> None:
    count = 8
    await storage.grant_credits(USER, count - 1, 1, period=DAY, now=1.0)
    outcomes = await asyncio.gather(
        *(hold(storage, f"job-{i}", 1, free=0) for i in range(count)), return_exceptions=True
    )
    assert sum(isinstance(outcome, TooFewCredits) for outcome in outcomes) == 1
    assert await storage.credit_account(USER, DAY) == CreditAccount(USER, 0, 0)


async def test_the_credit_tables_come_with_the_last_migration(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as db:  # a database from before credits
        for number, script in enumerate(MIGRATIONS[:-1], start=1):
            db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    storage = await Storage.open(path)
    try:
        assert await storage.schema_version() == len(MIGRATIONS)
        assert await storage.record_payment("ch-1", USER, 50, 100, period=DAY, now=1.0)
    finally:
        await storage.close()
