"""A job ends within JOB_DEADLINE whatever happens upstream, its status says what it waits for,
and a default model that does not answer at start is replaced for the run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from bot.runtime import models
from providers import Kind
from tests.e2e.conftest import World, runtime
from tests.fakes.telegram import StoredMessage

USER = 611
RU_USER = 612
PRODIA = "prodia/absolutereality_v181"
# The only limit short enough to end these jobs inside the emulator's wait is JOB_DEADLINE.
SLOW_LIMITS = {"job_deadline": 3, "read_timeout": 60, "job_timeout": 60}
UNREACHABLE = "http://127.0.0.1:9"


async def ending(world: World, user: int, prompt: str) -> StoredMessage:
    """Sends /imagine and waits (generously) until its status message has its last words."""
    command = world.tg.send_text(user, f"/imagine {prompt}")
    status = await world.status_of(user, command)
    await world.tg.wait_for(lambda: (status.text or "").startswith("⌛"), timeout=30)
    return status


def texts(message: StoredMessage) -> list[str]:
    return [version.text or "" for version in message.history]


async def test_a_fallback_gets_only_what_is_left_of_the_deadline(world: World) -> None:
    world.prodia.hold = asyncio.Event()  # Prodia does not answer its submit in time
    async with world.bot(fallback_image_models=PRODIA, arta_api_url=UNREACHABLE, **SLOW_LIMITS):
        try:
            status = await ending(world, USER, "fox")
        finally:
            world.prodia.hold.set()
    assert status.text == (
        "⌛ No result within 3 s; stopped while waiting for Prodia to take the job "
        f"({PRODIA}).\n"
        "Try again in a moment, or pick another model with /model."
    )
    seen = texts(status)
    moved = next(i for i, text in enumerate(seen) if f"drawing with {PRODIA} instead" in text)
    assert all("⌛" not in text for text in seen[:moved])  # it moved on first, then ran out
    assert len(world.prodia.seen("/generate")) == 1


async def test_a_hanging_upstream_ends_the_job_at_the_deadline(world: World) -> None:
    world.arta.fail("generate", "hang")
    async with world.bot(fallback_image_models=PRODIA, **SLOW_LIMITS):
        status = await ending(world, USER, "fox")
    assert status.text is not None
    assert status.text.startswith(
        "⌛ No result within 3 s; stopped while waiting for ARTA to take the job (arta/flux)."
    )
    assert not any("📨" in text or "sent to" in text for text in texts(status))
    assert world.prodia.seen("/generate") == []  # no time was left for the fallback


async def test_while_signing_in_the_status_says_so_and_never_sent(world: World) -> None:
    world.arta.fail("signup", "hang")
    async with world.bot(**SLOW_LIMITS):
        status = await ending(world, USER, "fox")
    seen = texts(status)
    assert any(text.startswith("🔑 signing in at arta/flux") for text in seen)
    assert not any("📨" in text or "sent to" in text for text in seen)
    assert status.text is not None
    assert "stopped while signing in at ARTA (arta/flux)" in status.text


async def test_the_ending_is_said_in_russian(world: World) -> None:
    world.tg.add_user(RU_USER, language_code="ru")
    world.arta.fail("signup", "hang")
    async with world.bot(**SLOW_LIMITS):
        status = await ending(world, RU_USER, "лиса")
    assert status.text is not None
    assert status.text.startswith(
        "⌛ Нет результата за 3 с; остановлено: входили в ARTA (arta/flux)."
    )
    assert any(text.startswith("🔑 входим в arta/flux") for text in texts(status))


async def test_the_status_says_sent_once_the_upstream_took_the_job(world: World) -> None:
    world.arta.queue_polls = 10**6  # the job stays in ARTA's queue
    async with world.bot():
        command = world.tg.send_text(USER, "/imagine fox")
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: "🕓" in (status.text or ""), timeout=30)
    seen = texts(status)
    sent = [i for i, text in enumerate(seen) if text.startswith("📨 sent to arta/flux")]
    queued = next(i for i, text in enumerate(seen) if text.startswith("🕓"))
    assert all(i < queued for i in sent)
    assert world.arta.job_list  # it was sent before anything said so


async def wait_until(check: Callable[[], bool]) -> None:
    """Waits (up to a generous 30 s) for a background change the emulator does not see."""
    for _ in range(600):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the change did not happen")


async def test_a_default_that_does_not_answer_is_replaced_at_start(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    chooser = USER + 100
    async with world.bot(check_defaults=True, arta_api_url=UNREACHABLE) as app:
        assert runtime(app).defaults[Kind.IMAGE].id == "arta/flux"  # the start did not wait
        await runtime(app).storage.set_prefs(chooser, image_model="arta/flux")
        await wait_until(lambda: runtime(app).defaults[Kind.IMAGE].id == PRODIA)
        command = world.tg.send_text(USER, "/imagine fox")
        [photo] = await world.photos_for(USER, command, 1)
        caption = photo.caption or ""
        assert f"🎨 {PRODIA}" in caption and "instead of" not in caption
        assert runtime(app).defaults[Kind.VISION].id == "dynaspark/gemini-1.5-flash"
        chosen = await models.current(runtime(app), chooser, Kind.IMAGE)
        assert chosen.id == "arta/flux"  # a chat's own choice stays
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    about = [w for w in warnings if "DEFAULT_IMAGE_MODEL" in w]
    assert about == [
        "DEFAULT_IMAGE_MODEL arta/flux does not answer (ARTA: cannot be reached right now); "
        f"using {PRODIA} instead for this run. Set a key for a provider that works today "
        "(HF_TOKEN, POLLINATIONS_API_KEY, OPENAI_API_KEY, FAL_KEY or REPLICATE_API_TOKEN) and "
        "DEFAULT_IMAGE_MODEL: see README 'Pick your providers'."
    ]
    assert not [w for w in warnings if "DEFAULT_VISION_MODEL" in w]


async def test_when_no_model_answers_one_warning_says_so(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    dead = {
        "arta_api_url": UNREACHABLE,
        "prodia_api_url": UNREACHABLE,
        "sd35_space_url": UNREACHABLE,
    }
    async with world.bot(check_defaults=True, **dead) as app:

        def warned() -> bool:
            return any("DEFAULT_IMAGE_MODEL" in r.getMessage() for r in caplog.records)

        await wait_until(warned)
        assert runtime(app).defaults[Kind.IMAGE].id == "arta/flux"
    about = [r for r in caplog.records if "DEFAULT_IMAGE_MODEL" in r.getMessage()]
    assert len(about) == 1 and about[0].levelno == logging.WARNING
    text = about[0].getMessage()
    assert text.startswith(
        "DEFAULT_IMAGE_MODEL arta/flux does not answer (ARTA: cannot be reached right now), "
        "and no other image model does either ("
    )
    assert f"{PRODIA}: Prodia: cannot be reached right now" in text
    assert "/imagine jobs will fail until a provider answers" in text
    assert "see README 'Pick your providers'" in text
