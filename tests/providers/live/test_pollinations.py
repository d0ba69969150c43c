"""The ``pollinations`` provider type against a loopback Pollinations gateway."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from providers import (
    AuthError,
    Event,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    ProviderContext,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    TextDelta,
    TextResponse,
    ask_vision,
    generate_images,
)
from providers.core.entry import ProviderConfig
from providers.live.pollinations import Pollinations
from tests.fakes.arta import png_bytes
from tests.fakes.pollinations import FakePollinations, jpeg_bytes
from tests.helpers import provider_context


@pytest.fixture
async def fake() -> AsyncIterator[FakePollinations]:
    async with FakePollinations() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def provider(fake: FakePollinations, key: str | None = None) -> Pollinations:
    config = ProviderConfig(
        name="pollinations",
        type="pollinations",
        label="Pollinations",
        base_url=f"{fake.url}/",
        image_models=["flux", "turbo"],
        vision_models=["openai"],
    )
    return Pollinations(config, SecretStr(key or fake.api_key or ""))


async def draw(
    fake: FakePollinations, context: ProviderContext, prompt: str = "a fox", **options: Any
) -> list[Event]:
    entry = Registry([provider(fake)]).resolve("pollinations/flux", Kind.IMAGE)
    request = ImageRequest(prompt=prompt, **options)
    return [event async for event in generate_images(entry, request, context)]


async def test_the_prompt_travels_as_one_path_segment_with_size_seed_and_key(
    fake: FakePollinations, context: ProviderContext
) -> None:
    prompt = "a fox / in the snow? 100% cosy & warm #1 — лиса"
    events = await draw(fake, context, prompt, aspect_ratio="16:9", seed=42)

    [get] = fake.image_gets
    assert get.prompt == prompt
    assert get.query == {
        "model": "flux",
        "width": "1344",
        "height": "768",
        "seed": "42",
        "nologo": "true",
        "private": "true",
    }
    assert get.authorization == f"Bearer {fake.api_key}"
    assert events[-1] == ImageResponse(images=[jpeg_bytes(42)], alt=prompt, seed=42, model="flux")


async def test_without_a_seed_a_fresh_one_is_sent_and_reported(
    fake: FakePollinations, context: ProviderContext
) -> None:
    first = (await draw(fake, context))[-1]
    second = (await draw(fake, context))[-1]
    assert isinstance(first, ImageResponse) and isinstance(second, ImageResponse)
    sent = [int(get.query["seed"]) for get in fake.image_gets]
    assert [first.seed, second.seed] == sent
    assert sent[0] != sent[1]
    assert [get.query["width"] for get in fake.image_gets] == ["1024", "1024"]


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"n": 2}, "one image at a time"),
        ({"negative_prompt": "blur"}, "negative prompt"),
        ({"steps": 4}, "steps"),
        ({"aspect_ratio": "5:1"}, "aspect ratios"),
    ],
)
async def test_options_it_cannot_honour_are_refused_before_any_request(
    fake: FakePollinations, context: ProviderContext, options: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(InvalidOption, match=complaint):
        await draw(fake, context, **options)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        ("401", AuthError, "refused our API key"),
        ("402", RateLimited, "no quota or credit"),
        ("429", RateLimited, "try again in 12 seconds"),
        ("500", ProviderUnavailable, "HTTP 500"),
        ("not_image", ResponseError, "not a picture"),
    ],
)
async def test_image_failures_become_the_matching_error_without_the_key(
    fake: FakePollinations,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
    fault: Any,
    error: type[ProviderError],
    text: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_image(fault)
    with pytest.raises(error) as caught:
        await draw(fake, context)
    assert type(caught.value) is error
    assert caught.value.user_message.startswith("Pollinations: ")
    assert text in caught.value.user_message
    assert fake.api_key is not None
    assert fake.api_key not in caught.value.user_message
    assert fake.api_key not in caplog.text


async def test_rate_limit_retry_after(fake: FakePollinations, context: ProviderContext) -> None:
    fake.fail_image("429")
    with pytest.raises(RateLimited) as caught:
        await draw(fake, context)
    assert caught.value.retry_after == 12


async def test_vision_is_openai_compatible_under_v1(
    fake: FakePollinations, context: ProviderContext
) -> None:
    entry = Registry([provider(fake)]).resolve("pollinations/openai", Kind.VISION)
    events = [e async for e in ask_vision(entry, "what is it?", [Media(png_bytes(1))], context)]

    [call] = fake.chat_calls
    assert fake.requests[0].path == "/v1/chat/completions"
    assert call.body["model"] == "openai"
    assert call.images == [png_bytes(1)]
    assert call.authorization == f"Bearer {fake.api_key}"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == fake.answer
    assert events[-1] == TextResponse(fake.answer, "openai")


async def test_a_vision_stream_cut_mid_answer_is_a_failure(
    fake: FakePollinations, context: ProviderContext
) -> None:
    fake.fail("chat", "cut")
    entry = Registry([provider(fake)]).resolve("pollinations/openai", Kind.VISION)
    with pytest.raises(ProviderUnavailable, match="broke off"):
        async for _ in ask_vision(entry, "what is it?", [Media(png_bytes(1))], context):
            pass


def test_the_key_is_not_in_the_providers_repr(fake: FakePollinations) -> None:
    assert fake.api_key is not None
    assert fake.api_key not in repr(provider(fake))
