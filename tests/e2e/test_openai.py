"""/imagine and /ask through the bot with the ``openai`` and ``pollinations`` provider types,
configured the way an operator does: a key and a base URL in the settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.conftest import World
from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.pollinations import FakePollinations, jpeg_bytes

USER = 9101


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake  # type: ignore[misc]


def with_openai(fake: FakeOpenAI, **more: Any) -> dict[str, Any]:
    """Bot settings overrides pointing the openai provider at the fake."""
    return {
        "openai_api_key": fake.api_key,
        "openai_base_url": fake.base_url,
        "default_image_model": "openai/gpt-image-1",
        "default_vision_model": "openai/gpt-4o-mini",
        "allow_private_urls": True,
        **more,
    }


async def test_imagine_draws_with_openai_and_names_the_model(
    world: World, openai_fake: FakeOpenAI
) -> None:
    async with world.bot(**with_openai(openai_fake)):
        command = world.tg.send_text(USER, "/imagine two foxes --n 2 --ar 3:2")
        photos = await world.photos_for(USER, command, 2)
        assert [p.photo for p in photos] == [png_bytes(0), png_bytes(1)]
        assert photos[0].caption is not None and "openai/gpt-image-1" in photos[0].caption
        body = openai_fake.image_calls[0].body
        assert (body["prompt"], body["n"], body["size"]) == ("two foxes", 2, "1536x1024")


async def test_imagine_delivers_url_results(world: World, openai_fake: FakeOpenAI) -> None:
    openai_fake.image_format = "url"
    settings = with_openai(openai_fake, openai_image_models="flux-dev")
    settings["default_image_model"] = "openai/flux-dev"
    async with world.bot(**settings):
        command = world.tg.send_text(USER, "/imagine a fox at dusk --ar 16:9")
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.photo == png_bytes(0)
        assert openai_fake.image_calls[0].body["size"] == "1344x768"
        assert openai_fake.seen("/v1/files/")


async def test_a_flag_the_model_cannot_honour_is_explained_without_a_request(
    world: World, openai_fake: FakeOpenAI
) -> None:
    async with world.bot(**with_openai(openai_fake)):
        command = world.tg.send_text(USER, "/imagine a fox --seed 5")
        reply = await world.reply_to(USER, command, lambda m: "seed" in (m.text or ""))
        assert "does not take a seed" in (reply.text or "")
        assert openai_fake.image_calls == []


async def test_ask_streams_from_openai_with_the_photo(
    world: World, openai_fake: FakeOpenAI
) -> None:
    openai_fake.answer = "A **red** square."
    async with world.bot(**with_openai(openai_fake)):
        command = world.tg.send_photo(USER, png_bytes(1), caption="/ask what is this?")
        answer = await world.reply_to(USER, command, lambda m: (m.text or "") == "A red square.")
        assert any(e["type"] == "bold" for e in answer.entities)
        [call] = openai_fake.chat_calls
        assert call.body["stream"] is True
        assert call.question == "what is this?"
        assert call.images == [png_bytes(1)]


async def test_a_refused_key_is_explained_and_never_shown(
    world: World, openai_fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    openai_fake.fail("images", "401", times=10)
    async with world.bot(**with_openai(openai_fake)):  # no fallback: the refusal must show
        command = world.tg.send_text(USER, "/imagine a fox")
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: "OpenAI" in (status.text or "") and "⚠️" in status.text)
        assert "refused our API key" in (status.text or "")
    assert openai_fake.api_key is not None
    texts = [m.text or m.caption or "" for m in world.tg.bot_messages(USER)]
    assert all(openai_fake.api_key not in text for text in texts)
    assert openai_fake.api_key not in caplog.text


async def test_an_exhausted_quota_moves_the_job_to_the_fallback_model(
    world: World, openai_fake: FakeOpenAI
) -> None:
    openai_fake.fail("images", "quota")
    async with world.bot(**with_openai(openai_fake, fallback_image_models="arta/flux")):
        command = world.tg.send_text(USER, "/imagine a fox")
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.caption is not None
        assert photo.caption.endswith("· instead of openai/gpt-image-1")
        assert "🎨 arta/flux" in photo.caption
    assert len(openai_fake.seen("/v1/images/generations")) == 1  # tried once, not retried


async def test_pollinations_draws_and_answers(world: World) -> None:
    async with FakePollinations() as fake:
        settings = {
            "pollinations_api_key": fake.api_key,
            "pollinations_api_url": fake.url,
            "default_image_model": "pollinations/flux",
            "default_vision_model": "pollinations/openai",
        }
        async with world.bot(**settings):
            command = world.tg.send_text(USER, "/imagine a fox --seed 9 --ar 9:16")
            [photo] = await world.photos_for(USER, command, 1)
            assert photo.photo == jpeg_bytes(9)
            assert fake.image_gets[0].query["width"] == "768"
            question = world.tg.send_text(USER, "/ask what is a fox?")
            await world.reply_to(USER, question, lambda m: m.text == fake.answer)
