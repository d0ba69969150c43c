"""Edit models of the ``openai`` type through ``images/edits``, against the loopback OpenAI
fake: the pictures reach it as multipart ``image[]`` parts, in order and byte for byte."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from providers import (
    AuthError,
    ErrorCode,
    Event,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    Progress,
    ProviderContext,
    ProviderError,
    RateLimited,
    Registry,
    generate_images,
)
from providers.core.entry import ProviderConfig
from providers.core.errors import Refused
from providers.live.openai.edits import as_square_png
from providers.live.openai.images import OpenAICompatible
from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.pollinations import jpeg_bytes
from tests.helpers import provider_context

EDIT_MODELS = ["gpt-image-2", "dall-e-2", "kontext=black-forest-labs/FLUX.1-kontext-dev"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def provider(fake: FakeOpenAI, key: str | None = None, **fields: Any) -> OpenAICompatible:
    values: dict[str, Any] = {
        "name": "openai",
        "type": "openai",
        "label": "OpenAI",
        "base_url": fake.base_url,
        "image_models": ["gpt-image-1"],
        "edit_models": EDIT_MODELS,
        **fields,
    }
    return OpenAICompatible(ProviderConfig(**values), SecretStr(key or fake.api_key or ""))


async def edit(
    fake: FakeOpenAI,
    context: ProviderContext,
    pictures: list[Media],
    model: str = "openai/gpt-image-2",
    prompt: str = "make it night",
    *,
    via: OpenAICompatible | None = None,
    kind: Kind = Kind.EDIT,
    **options: Any,
) -> list[Event]:
    entry = Registry([via or provider(fake)]).resolve(model, kind)
    request = ImageRequest(prompt=prompt, images=tuple(pictures), **options)
    return [event async for event in generate_images(entry, request, context)]


def webp_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), (10, 120, 200)).save(buffer, format="WEBP")
    return buffer.getvalue()


def png_of(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    colour = (200, 30, 30, 255)[: len(mode)]
    Image.new(mode, (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


# --- what is offered ------------------------------------------------------------------------


def test_edit_models_are_offered_as_edit_models_with_what_each_reads(fake: FakeOpenAI) -> None:
    registry = Registry([provider(fake)])
    assert [e.id for e in registry.entries_of(Kind.EDIT)] == [
        "openai/gpt-image-2",
        "openai/dall-e-2",
        "openai/kontext",
    ]
    gpt, dalle, kontext = (e.options for e in registry.entries_of(Kind.EDIT))
    assert gpt is not None and dalle is not None and kontext is not None
    assert (gpt.min_pictures, gpt.max_pictures, gpt.strength) == (1, 16, False)
    assert gpt.pictures.types == ("image/png", "image/jpeg", "image/webp")
    assert (dalle.max_pictures, dalle.pictures.types) == (1, ("image/png",))
    assert kontext.max_pictures == 16
    [image] = registry.entries_of(Kind.IMAGE)
    assert image.options is not None and image.options.max_pictures == 0


# --- what is sent ---------------------------------------------------------------------------


async def test_one_picture_goes_up_as_an_image_part_with_the_prompt_and_model(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    events = await edit(fake, context, [Media(png_bytes(2), "cat.png", "image/png")])

    [call] = fake.edit_calls
    assert call.fields == {"model": "gpt-image-2", "prompt": "make it night"}  # no n, no size
    [part] = call.pictures
    assert (part.name, part.content_type, part.value) == ("image[]", "image/png", png_bytes(2))
    assert part.filename is not None and part.filename.endswith(".png")
    assert call.authorization == f"Bearer {fake.api_key}"
    assert fake.image_calls == []
    assert isinstance(events[0], Progress)
    assert events[-1] == ImageResponse(
        images=[png_bytes(0)], alt="make it night", model="gpt-image-2"
    )


async def test_three_pictures_go_up_in_order_with_their_own_types(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    pictures = [
        Media(jpeg_bytes(5), "one.jpg", "image/jpeg"),
        Media(png_bytes(1), "two.png", "image/png"),
        Media(webp_bytes(), "three.webp", None),  # the type is told by the bytes
    ]
    events = await edit(fake, context, pictures, n=2, aspect_ratio="3:2")

    [call] = fake.edit_calls
    assert [(p.name, p.content_type, p.value) for p in call.pictures] == [
        ("image[]", "image/jpeg", jpeg_bytes(5)),
        ("image[]", "image/png", png_bytes(1)),
        ("image[]", "image/webp", webp_bytes()),
    ]
    assert [p.filename for p in call.pictures] == ["image-1.jpg", "image-2.png", "image-3.webp"]
    assert call.fields == {
        "model": "gpt-image-2",
        "prompt": "make it night",
        "n": "2",
        "size": "1536x1024",
    }
    final = events[-1]
    assert isinstance(final, ImageResponse) and final.images == [png_bytes(0), png_bytes(1)]


async def test_dall_e_2_gets_one_square_png_as_image(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    square = png_of(64, 64, "RGBA")
    await edit(fake, context, [Media(square, "a.png", "image/png")], "openai/dall-e-2")
    [part] = fake.edit_calls[0].pictures
    assert (part.name, part.content_type, part.value) == ("image", "image/png", square)

    events = await edit(fake, context, [Media(png_of(80, 40), "wide.png")], "openai/dall-e-2")
    [part] = fake.edit_calls[1].pictures
    with Image.open(io.BytesIO(part.value)) as sent:
        assert (sent.format, sent.size, sent.mode) == ("PNG", (80, 80), "RGBA")
        assert sent.getpixel((0, 0)) == (0, 0, 0, 0)  # the padding is what dall-e-2 fills
        assert sent.getpixel((40, 40)) == (200, 30, 30, 255)
    assert isinstance(events[-1], ImageResponse)


def test_a_picture_that_is_not_a_square_png_with_alpha_is_made_one() -> None:
    for picture in (jpeg_bytes(1), png_of(64, 64, "RGB")):
        with Image.open(io.BytesIO(as_square_png(picture))) as made:
            assert (made.format, made.size, made.mode) == ("PNG", (64, 64), "RGBA")
    grey = png_of(32, 32, "L")
    assert as_square_png(grey) == grey
    assert as_square_png(b"not a picture") == b"not a picture"


async def test_the_entrys_response_format_and_sizes_are_sent_as_for_generations(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    via = provider(fake, response_format="url")
    events = await edit(fake, context, [Media(png_of(32, 32))], "openai/dall-e-2", via=via)
    assert fake.edit_calls[0].fields["response_format"] == "url"
    final = events[-1]
    assert isinstance(final, ImageResponse)
    [url] = final.images
    assert isinstance(url, str) and url.startswith(fake.base_url)
    assert await context.http.read(url, provider="OpenAI") == png_bytes(0)

    await edit(fake, context, [Media(png_bytes(0))], "openai/kontext", aspect_ratio="16:9")
    assert fake.edit_calls[1].fields["size"] == "1344x768"
    assert fake.edit_calls[1].fields["model"] == "black-forest-labs/FLUX.1-kontext-dev"


# --- refused before any request -------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "count", "options", "code"),
    [
        ("openai/gpt-image-2", 17, {}, ErrorCode.PICTURE_COUNT),
        ("openai/dall-e-2", 2, {}, ErrorCode.ONE_PICTURE),
        ("openai/gpt-image-2", 0, {}, ErrorCode.NEEDS_PICTURE),
        ("openai/gpt-image-2", 1, {"strength": 0.5}, ErrorCode.NO_STRENGTH),
        ("openai/gpt-image-2", 1, {"aspect_ratio": "16:9"}, ErrorCode.RATIOS),
        ("openai/gpt-image-2", 1, {"n": 5}, ErrorCode.IMAGE_COUNT),
    ],
)
async def test_what_the_model_cannot_take_is_refused_before_any_request(
    fake: FakeOpenAI,
    context: ProviderContext,
    model: str,
    count: int,
    options: dict[str, Any],
    code: ErrorCode,
) -> None:
    with pytest.raises(InvalidOption) as caught:
        await edit(fake, context, [Media(png_bytes(0))] * count, model, **options)
    assert caught.value.code == code
    assert fake.requests == []


async def test_an_image_model_takes_no_pictures(fake: FakeOpenAI, context: ProviderContext) -> None:
    with pytest.raises(InvalidOption) as caught:
        await edit(fake, context, [Media(png_bytes(0))], "openai/gpt-image-1", kind=Kind.IMAGE)
    assert caught.value.code == ErrorCode.TAKES_NO_PICTURES
    assert fake.requests == []


async def test_an_empty_picture_is_refused_before_any_request(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    with pytest.raises(InvalidOption) as caught:
        await edit(fake, context, [Media(png_bytes(0)), Media(b"")])
    assert caught.value.code == ErrorCode.EMPTY_IMAGE
    assert fake.requests == []


# --- failures -------------------------------------------------------------------------------


async def test_moderation_blocked_is_a_refusal_naming_the_category(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.fail("edits", "moderation")
    with pytest.raises(Refused) as caught:
        await edit(fake, context, [Media(png_bytes(0))])
    assert caught.value.code == ErrorCode.MODERATION_REASON
    assert caught.value.params == {"reason": "violence"}
    assert caught.value.user_message == (
        "OpenAI: refused this request (its moderation flagged it: violence)"
    )
    assert "req_" not in caught.value.user_message  # the upstream's sentence is not repeated


async def test_moderation_blocked_on_a_generation_is_a_refusal_too(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.fail("images", "moderation")
    entry = Registry([provider(fake)]).resolve("openai/gpt-image-1", Kind.IMAGE)
    with pytest.raises(Refused, match="moderation flagged it: violence"):
        async for _ in generate_images(entry, ImageRequest(prompt="x"), context):
            pass


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("401", AuthError),
        ("402", RateLimited),
        ("quota", RateLimited),
        ("policy", Refused),
        ("moderation", Refused),
    ],
)
async def test_edit_failures_never_carry_the_key(
    fake: FakeOpenAI,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
    fault: Any,
    error: type[ProviderError],
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("edits", fault)
    with pytest.raises(error) as caught:
        await edit(fake, context, [Media(png_bytes(0))])
    assert type(caught.value) is error
    assert fake.api_key is not None
    for text in (caught.value.user_message, repr(caught.value), caplog.text):
        assert fake.api_key not in text


async def test_a_wrong_key_is_not_repeated(
    fake: FakeOpenAI, context: ProviderContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "test-wrong-edit-key-that-must-not-leak-7"
    with pytest.raises(AuthError) as caught:
        await edit(fake, context, [Media(png_bytes(0))], via=provider(fake, key=wrong))
    assert fake.edit_calls == []  # the fake refused it at the door
    assert wrong not in caught.value.user_message and wrong not in caplog.text
