"""A provider dies: jobs move on to a fallback model, skip the dead one, and come back to it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from providers.routing.health import FAILURES_TO_TRIP, FIRST_COOL_DOWN
from tests.e2e.conftest import World, runtime
from tests.fakes.telegram import StoredMessage

USER = 601
PRODIA = "prodia/absolutereality_v181"
AUTO = {"fallback_image_models": "auto", "fallback_vision_models": "auto"}


async def draw(world: World, prompt: str, status_says: str = "") -> StoredMessage:
    """Sends /imagine and returns its delivered photo; with ``status_says``, Prodia (the first
    fallback) holds the job until the status message has said it."""
    if status_says:
        world.prodia.hold = asyncio.Event()
    command = world.tg.send_text(USER, f"/imagine {prompt}")
    if status_says:
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: status_says in (status.text or ""))
        world.prodia.hold.set()
    [photo] = await world.photos_for(USER, command, 1)
    return photo


async def providers_reply(world: World) -> str:
    command = world.tg.send_text(USER, "/providers")
    reply = await world.reply_to(USER, command, lambda m: m.kind == "text")
    return reply.text or ""


def arta_submissions(world: World) -> int:
    return len(world.arta.seen("/text2image")) - len(world.arta.seen("/status"))


async def test_a_failing_provider_hands_jobs_to_the_fallback_then_is_skipped_then_returns(
    world: World,
) -> None:
    world.arta.fail("generate", "500", times=100)
    async with world.bot(**AUTO) as app:
        for n in range(FAILURES_TO_TRIP):
            said = f"ARTA is having trouble (HTTP 500); drawing with {PRODIA} instead"
            photo = await draw(world, f"fox {n}", said)
            assert photo.caption and photo.caption.endswith("· instead of arta/flux")
            assert f"🎨 {PRODIA}" in photo.caption
        assert arta_submissions(world) == FAILURES_TO_TRIP
        listing = await providers_reply(world)
        assert "❌ ARTA" in listing and "← this chat: arta/flux" in listing
        assert "last error" not in listing  # only operators see errors

        await draw(world, "fox skipping it", f"ARTA is down; drawing with {PRODIA} instead")
        assert arta_submissions(world) == FAILURES_TO_TRIP  # not asked again
        stored = await runtime(app).storage.get_prefs(USER)
        assert stored.image_model is None  # the chat's own choice is untouched

    async with world.bot(**AUTO) as app:  # a restart remembers
        assert "❌ ARTA" in await providers_reply(world)
        await draw(world, "fox after a restart")
        assert arta_submissions(world) == FAILURES_TO_TRIP

        world.arta.heal()
        later = time.time() + FIRST_COOL_DOWN + 1
        runtime(app).health.clock = lambda: later
        photo = await draw(world, "fox probing")
        assert arta_submissions(world) == FAILURES_TO_TRIP + 1
        assert photo.caption and photo.caption.endswith(
            f"🎨 arta/flux · seed {world.arta.job_list[-1].form['seed']}"
        )
        assert "✅ ARTA" in await providers_reply(world)
        await draw(world, "fox as usual")
        assert arta_submissions(world) == FAILURES_TO_TRIP + 2


async def test_operators_see_each_providers_last_error(world: World) -> None:
    world.arta.fail("generate", "500")
    async with world.bot(**AUTO, admin_user_ids=str(USER)):
        await draw(world, "fox")
        listing = await providers_reply(world)
    assert "⚠️ ARTA" in listing
    assert "last error: ARTA: is having trouble (HTTP 500)" in listing
    assert "✅ Prodia" in listing and "100% of 1 recent job" in listing


async def test_an_unreachable_provider_is_left_for_the_fallback(world: World) -> None:
    async with world.bot(**AUTO, arta_api_url="http://127.0.0.1:9"):
        photo = await draw(
            world, "fox", f"ARTA cannot be reached right now; drawing with {PRODIA} instead"
        )
    assert photo.caption and PRODIA in photo.caption


async def test_a_hanging_provider_is_given_up_on_after_the_read_timeout(world: World) -> None:
    world.arta.fail("generate", "hang")
    async with world.bot(**AUTO, read_timeout=0.5):
        await draw(world, "fox", f"ARTA took too long to answer; drawing with {PRODIA} instead")


async def test_options_the_fallback_cannot_take_are_adapted_and_said(world: World) -> None:
    world.arta.fail("generate", "500")
    async with world.bot(**AUTO):
        await draw(
            world,
            "two foxes --n 2 --ar 16:9 --steps 40",
            "(3:2 instead of 16:9; 1 image instead of 2; its own default steps)",
        )
    query = world.prodia.seen("/generate")[0].query
    assert (query["aspect_ratio"], query["steps"]) == ("landscape", "20")


async def test_a_bad_option_never_moves_on(world: World) -> None:
    async with world.bot(**AUTO):
        command = world.tg.send_text(USER, "/imagine fox --n 9")
        reply = await world.reply_to(USER, command, lambda m: m.kind == "text")
    assert "1 to 4 images" in (reply.text or "")
    assert world.prodia.seen("/generate") == [] and world.sd35.requests == []


async def test_without_fallback_the_failure_is_plain(world: World) -> None:
    world.arta.fail("generate", "500")
    async with world.bot(fallback_image_models="none"):
        command = world.tg.send_text(USER, "/imagine fox")
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: "HTTP 500" in (status.text or ""))
    assert (status.text or "").startswith("⚠️ ARTA: is having trouble (HTTP 500)")
    assert world.prodia.seen("/generate") == []


async def test_when_every_candidate_is_down_one_message_lists_them(world: World) -> None:
    settings: dict[str, Any] = {
        "fallback_image_models": f"{PRODIA}, sd35/sd-3.5",
        "arta_api_url": "http://127.0.0.1:9",
        "prodia_api_url": "http://127.0.0.1:9",
        "sd35_space_url": "http://127.0.0.1:9",
    }
    async with world.bot(**settings):
        command = world.tg.send_text(USER, "/imagine fox")
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: "No model could" in (status.text or ""))
    text = status.text or ""
    for model, reason in (
        ("arta/flux", "ARTA cannot be reached"),
        (PRODIA, "Prodia cannot be reached"),
        ("sd35/sd-3.5", "StabilityAI SD 3.5 Large cannot be reached"),
    ):
        assert f"{model}: {reason}" in text
