"""Pollinations' edit models against the loopback gateway: pictures go up as the OpenAI
multipart form of ``/v1/images/edits``, unchanged and in order; refusals and money trouble
come back as the errors the bot tells apart. The fake is checked against the ``openai`` SDK."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image
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
    ProviderSettings,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    generate_images,
)
from providers.core.entry import ProviderConfig
from providers.core.errors import ErrorCode, Refused
from providers.live.pollinations import Pollinations
from providers.routing.config import build_registry
from tests.fakes.pollinations import EditPost, FakePollinations, edited_png
from tests.helpers import provider_context


@pytest.fixture
async def fake() -> AsyncIterator[FakePollinations]:
    async with FakePollinations() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def picture(size: tuple[int, int], colour: tuple[int, int, int], kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=kind)
    return buffer.getvalue()


RED = picture((300, 200), (200, 20, 20))
GREEN_JPEG = picture((64, 64), (20, 200, 20), "JPEG")
BLUE = picture((48, 96), (20, 20, 200))


def registry(fake: FakePollinations) -> Registry:
    config = ProviderConfig(
        name="pollinations",
        type="pollinations",
        label="Pollinations",
        base_url=fake.url,
        image_models=["flux"],
        edit_models=["kontext", "gptimage"],
    )
    return Registry([Pollinations(config, SecretStr(fake.api_key or ""))])


async def edit(
    fake: FakePollinations,
    context: ProviderContext,
    *pictures: bytes,
    model: str = "kontext",
    prompt: str = "make it snow",
    **options: Any,
) -> list[Event]:
    entry = registry(fake).resolve(f"pollinations/{model}", Kind.EDIT)
    media = tuple(Media(data, f"photo{i}.bin") for i, data in enumerate(pictures))
    request = ImageRequest(prompt=prompt, images=media or (Media(RED),), **options)
    return [event async for event in generate_images(entry, request, context)]


def only_call(fake: FakePollinations) -> EditPost:
    [call] = fake.edit_posts
    assert [seen.path for seen in fake.requests] == ["/v1/images/edits"]
    return call


# --- what goes up --------------------------------------------------------------------------


async def test_one_picture_goes_up_as_the_image_part_unchanged(
    fake: FakePollinations, context: ProviderContext
) -> None:
    events = await edit(fake, context, GREEN_JPEG, aspect_ratio="16:9")

    call = only_call(fake)
    assert call.fields == {"model": "kontext", "prompt": "make it snow", "size": "1344x768"}
    [part] = call.files
    assert (part.name, part.filename, part.content_type) == ("image", "picture1.jpg", "image/jpeg")
    assert part.data == GREEN_JPEG
    assert call.authorization == f"Bearer {fake.api_key}"
    result = events[-1]
    assert result == ImageResponse(
        images=[edited_png(GREEN_JPEG, (1344, 768))], alt="make it snow", model="kontext"
    )


async def test_several_pictures_go_up_as_image_array_parts_in_order(
    fake: FakePollinations, context: ProviderContext
) -> None:
    await edit(fake, context, BLUE, RED, GREEN_JPEG, model="gptimage", aspect_ratio="1:1")

    call = only_call(fake)
    assert [part.name for part in call.files] == ["image[]"] * 3
    assert call.pictures == [BLUE, RED, GREEN_JPEG]
    assert [part.content_type for part in call.files] == ["image/png", "image/png", "image/jpeg"]
    assert call.fields["model"] == "gptimage"


async def test_without_an_aspect_ratio_the_size_follows_the_first_picture(
    fake: FakePollinations, context: ProviderContext
) -> None:
    events = await edit(fake, context, RED)  # 300x200 is 3:2

    assert only_call(fake).fields["size"] == "1280x832"
    result = events[-1]
    assert isinstance(result, ImageResponse) and isinstance(result.images[0], bytes)
    assert Image.open(io.BytesIO(result.images[0])).size == (1280, 832)
    assert result.seed is None  # the gateway draws its own seed and does not say which


async def test_an_answer_with_a_url_is_read_too(
    fake: FakePollinations, context: ProviderContext
) -> None:
    fake.edit_format = "url"
    result = (await edit(fake, context, RED, aspect_ratio="1:1"))[-1]
    assert isinstance(result, ImageResponse)
    assert result.images == [f"{fake.url}/edited/edit-1.png"]


# --- what the models offer -----------------------------------------------------------------


def test_kontext_takes_one_picture_and_neither_seed_nor_strength(fake: FakePollinations) -> None:
    kontext = registry(fake).resolve("pollinations/kontext", Kind.EDIT).options
    other = registry(fake).resolve("pollinations/gptimage", Kind.EDIT).options
    assert kontext is not None and other is not None
    assert (kontext.min_pictures, kontext.max_pictures) == (1, 1)
    assert (other.min_pictures, other.max_pictures) == (1, 4)
    assert not kontext.seed and not kontext.strength and kontext.max_images == 1


@pytest.mark.parametrize(
    ("pictures", "options", "complaint"),
    [
        ((RED, BLUE), {}, "takes one picture at a time"),
        ((RED,), {"seed": 3}, "does not take a seed"),
        ((RED,), {"strength": 0.5}, "does not take a strength"),
        ((RED,), {"n": 2}, "one image at a time"),
    ],
)
async def test_what_kontext_cannot_do_is_refused_before_anything_is_sent(
    fake: FakePollinations,
    context: ProviderContext,
    pictures: tuple[bytes, ...],
    options: dict[str, Any],
    complaint: str,
) -> None:
    with pytest.raises(InvalidOption, match=complaint):
        await edit(fake, context, *pictures, **options)
    assert fake.requests == []


def test_the_shortcut_offers_kontext_as_an_edit_model(tmp_path: Path) -> None:
    settings = ProviderSettings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        pollinations_api_key=SecretStr("pk_shortcut_key"),
    )
    entry = build_registry(settings, environ={}).resolve("pollinations/kontext")
    assert (entry.kind, entry.upstream) == (Kind.EDIT, "kontext")
    assert isinstance(entry.provider, Pollinations)


# --- what comes back when it goes wrong ----------------------------------------------------


async def test_a_moderation_refusal_is_refused_not_a_failure(
    fake: FakePollinations, context: ProviderContext
) -> None:
    fake.fail_edit("422")
    with pytest.raises(Refused) as caught:
        await edit(fake, context, RED)
    assert caught.value.code == ErrorCode.MODERATION
    assert caught.value.user_message == (
        "Pollinations: refused this request (its moderation flagged it)"
    )


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("402", RateLimited, ErrorCode.NO_QUOTA_LEFT),
        ("401", AuthError, ErrorCode.KEY_REFUSED),
        ("429", RateLimited, ErrorCode.SLOW_DOWN_SECONDS),
        ("500", ProviderUnavailable, ErrorCode.TROUBLE_HTTP),
        ("not_json", ResponseError, ErrorCode.UNREADABLE_RESPONSE),
    ],
)
async def test_edit_failures_become_the_matching_error_without_the_key(
    fake: FakePollinations,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
    fault: Any,
    error: type[ProviderError],
    code: ErrorCode,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_edit(fault)
    with pytest.raises(error) as caught:
        await edit(fake, context, RED)
    assert type(caught.value) is error
    assert caught.value.code == code
    assert fake.api_key is not None
    assert fake.api_key not in caught.value.user_message
    assert fake.api_key not in repr(caught.value.params)
    assert fake.api_key not in caplog.text


async def test_out_of_pollen_says_so(fake: FakePollinations, context: ProviderContext) -> None:
    fake.fail_edit("402")
    with pytest.raises(RateLimited, match="no quota or credit left"):
        await edit(fake, context, RED)


# --- the fake speaks what the real client speaks --------------------------------------------


async def test_the_openai_sdk_edits_through_the_fake(fake: FakePollinations) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{fake.url}/v1", api_key=fake.api_key, max_retries=0
    ) as sdk:
        one = await sdk.images.edit(
            model="kontext", prompt="snow", image=("a.png", RED, "image/png"), size="1024x1024"
        )
        several = await sdk.images.edit(
            model="gptimage",
            prompt="both",
            image=[("a.png", BLUE, "image/png"), ("b.jpg", GREEN_JPEG, "image/jpeg")],
        )
        fake.fail_edit("422")
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            await sdk.images.edit(model="kontext", prompt="x", image=("a.png", RED, "image/png"))
        fake.fail_edit("402")
        with pytest.raises(openai.APIStatusError) as broke:
            await sdk.images.edit(model="kontext", prompt="x", image=("a.png", RED, "image/png"))

    assert one.data is not None and several.data is not None
    assert base64.b64decode(one.data[0].b64_json or "") == edited_png(RED, (1024, 1024))
    assert [part.name for part in fake.edit_posts[0].files] == ["image"]
    assert [part.name for part in fake.edit_posts[1].files] == ["image[]", "image[]"]
    assert fake.edit_posts[1].pictures == [BLUE, GREEN_JPEG]
    assert refused.value.status_code == 422
    assert broke.value.status_code == 402
    assert isinstance(broke.value.body, dict)
    assert broke.value.body.get("code") == "PAYMENT_REQUIRED"
