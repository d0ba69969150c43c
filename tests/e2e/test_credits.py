"""Credits through the bot: a job reserves its cost when it is admitted and is charged only for
what it delivered; a failure, a cancel or a fallback to a cheaper model costs nothing more;
concurrent jobs cannot overspend; a restart neither loses a hold nor charges twice; operators
are never charged; a provider past its daily budget is skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import World, runtime
from tests.fakes.openai_api import FakeOpenAI

USER = 9501
ADMIN = 9599
PRICES = {"free_credits": 3, "model_costs": "arta/*=1,prodia/*=1,openai/*=2"}


async def balance(app: Any, user_id: int = USER) -> int:
    return (await runtime(app).credits.balance(user_id)).total


async def test_a_job_is_charged_per_picture_delivered_and_the_cost_is_shown_first(
    world: World,
) -> None:
    tg = world.tg
    async with world.bot(**PRICES) as app:
        command = tg.send_text(USER, "/imagine two foxes --n 2")
        status = await world.status_of(USER, command)
        await world.photos_for(USER, command, 2)
        await tg.wait_for(lambda: status.deleted)  # the job has ended: charged
        assert await balance(app) == 1
        again = tg.send_text(USER, "/imagine three owls --n 2")
        refusal = await world.reply_to(USER, again, lambda m: m.kind == "text")
    assert any("2 credits" in (v.text or "") for v in status.history)
    assert refusal.text is not None
    assert refusal.text.startswith("This needs 2 credits; you have 1. Free credits renew in ")
    assert len(world.arta.job_list) == 1  # the refused job never went upstream


async def test_a_failed_or_cancelled_job_costs_nothing(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.fail_next_job()
    async with world.bot(**PRICES) as app:
        failed = tg.send_text(USER, "/imagine a fox that fails")
        status = await world.status_of(USER, failed)
        await tg.wait_for(lambda: (status.text or "").startswith("⚠️"))
        assert await balance(app) == 3
        arta.queue_polls = 10**6
        held = tg.send_text(USER, "/imagine a fox to cancel")
        waiting = await world.status_of(USER, held)
        await tg.wait_for(lambda: "waiting in line" in (waiting.text or ""))
        assert await balance(app) == 2  # reserved while it runs
        tg.send_text(USER, "/cancel")
        await tg.wait_for(lambda: (waiting.text or "").startswith("⏹"))
        assert await balance(app) == 3


async def test_concurrent_jobs_cannot_spend_more_than_the_user_has(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot(**PRICES, max_jobs_per_user=10) as app:
        commands = [tg.send_text(USER, f"/imagine fox number {i}") for i in range(4)]
        refused = await world.reply_to(
            USER, commands[3], lambda m: (m.text or "").startswith("This needs")
        )
        statuses = [await world.status_of(USER, c) for c in commands[:3]]
        await tg.wait_for(lambda: all("waiting in line" in (s.text or "") for s in statuses))
        assert await balance(app) == 0
        arta.queue_polls = 0
        for command in commands[:3]:
            await world.photos_for(USER, command, 1)
        assert await balance(app) == 0
    assert refused.text is not None and "you have 0" in refused.text
    assert len(arta.job_list) == 3


async def test_a_fallback_to_a_cheaper_model_is_charged_the_cheaper_price(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.fail_next_job()
    prices = {**PRICES, "model_costs": "arta/*=3,prodia/*=1", "fallback_image_models": "auto"}
    async with world.bot(**prices) as app:
        command = tg.send_text(USER, "/imagine a fox")
        status = await world.status_of(USER, command)
        [photo] = await world.photos_for(USER, command, 1)
        await tg.wait_for(lambda: status.deleted)
        assert await balance(app) == 2
    assert photo.caption is not None and "prodia/" in photo.caption


async def test_a_restart_in_the_middle_keeps_the_hold_and_charges_once(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot(**PRICES) as app:
        command = tg.send_text(USER, "/imagine a fox across a restart")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "waiting in line" in (status.text or ""))
        assert await balance(app) == 2
    arta.queue_polls = 0
    async with world.bot(**PRICES) as app:
        assert await balance(app) == 2  # still held across the restart
        await world.photos_for(USER, command, 1)
        await tg.wait_for(lambda: status.deleted)
        assert await balance(app) == 2  # charged once, nothing given back twice
        assert await runtime(app).credits.held("9501:1:imagine") == 0


async def test_operators_are_never_charged(world: World) -> None:
    tg = world.tg
    async with world.bot(**PRICES, admin_user_ids=[ADMIN]) as app:
        command = tg.send_text(ADMIN, "/imagine four owls --n 4")
        status = await world.status_of(ADMIN, command)
        await world.photos_for(ADMIN, command, 4)
        assert await balance(app, ADMIN) == 3
    assert not any("credit" in (v.text or "") for v in status.history)


async def test_the_model_menu_shows_prices_and_refusals_speak_russian(world: World) -> None:
    tg = world.tg
    tg.add_user(USER, language_code="ru")
    async with world.bot(**{**PRICES, "free_credits": 0}):
        menu_command = tg.send_text(USER, "/model")
        menu = await world.reply_to(USER, menu_command, lambda m: bool(m.buttons))
        command = tg.send_text(USER, "/imagine лиса")
        refusal = await world.reply_to(USER, command, lambda m: m.kind == "text")
    assert "✅ Flux · 🪙1" in [b["text"] for b in menu.buttons]
    assert refusal.text is not None and refusal.text.startswith("Нужно 1 кредит; у вас 0.")


async def test_a_provider_past_its_daily_budget_is_skipped_and_says_why(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = world.tg
    async with FakeOpenAI() as openai_fake:
        toml = tmp_path / "providers.toml"
        toml.write_text(
            "[[provider]]\nname = 'paid'\ntype = 'openai'\n"
            f"base_url = '{openai_fake.base_url}'\napi_key_env = 'PAID_KEY'\n"
            "image_models = ['gpt-image-1']\ncost = 1\nmax_daily_cost = 2\n"
        )
        settings = {
            "free_credits": 10,
            "providers_file": toml,
            "default_image_model": "paid/gpt-image-1",
            "fallback_image_models": "auto",
        }
        monkeypatch.setenv("PAID_KEY", openai_fake.api_key or "k")
        async with world.bot(**settings):
            first = tg.send_text(USER, "/imagine two foxes --n 2")
            await world.photos_for(USER, first, 2)
            second = tg.send_text(USER, "/imagine an owl")
            [photo] = await world.photos_for(USER, second, 1)
            listing = tg.send_text(USER, "/providers")
            said = await world.reply_to(USER, listing, lambda m: m.kind == "text")
    assert len(openai_fake.image_calls) == 1  # the budget was spent by the first job
    assert photo.caption is not None and "instead of paid/gpt-image-1" in photo.caption
    assert said.text is not None and "spent its budget for today" in said.text


async def test_a_job_interrupted_for_good_gives_its_hold_back(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot(**PRICES) as app:
        command = tg.send_text(USER, "/imagine an unlucky fox")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "waiting in line" in (status.text or ""))
        assert await balance(app) == 2
    async with world.bot(**PRICES):
        await tg.wait_for(lambda: "picking up the picture" in (status.text or ""))
    async with world.bot(**PRICES) as app:
        await tg.wait_for(lambda: (status.text or "").startswith("⚠️ Interrupted"))
        assert await balance(app) == 3
