"""fal edit apps against the loopback queue: the pictures go up as data URIs in the app's field
(one or a list), a strength only where the app takes one, fal's moderation is a refusal, and an
edit is followed again after a restart without being submitted twice."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from providers import (
    ErrorCode,
    Event,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    Progress,
    ProviderContext,
    ProviderSettings,
    Refused,
    Registry,
    generate_images,
)
from providers.routing.api import resume_images
from providers.routing.config import build_registry
from providers.routing.health import counts_against_provider
from tests.fakes.fal import POLICY_MESSAGE, DataUrl, FakeFal
from tests.fakes.prodia import png_bytes
from tests.helpers import provider_context

KEY = "fal-edit-key-do-not-leak-77"
EDITS = (
    "kontext=fal-ai/flux-pro/kontext,multi=fal-ai/flux-pro/kontext/multi,"
    "i2i=fal-ai/flux/dev/image-to-image,other=someone/edit-app"
)
PNG = png_bytes(5, 3)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
"""Bytes that read as a JPEG (the provider types a picture with no content type by them)."""


def picture(data: bytes = PNG, content_type: str | None = "image/png") -> Media:
    return Media(data, "photo.png", content_type)


@pytest.fixture
async def fake() -> AsyncIterator[FakeFal]:
    server = FakeFal(key=KEY)
    server.queue_ahead = 0
    async with server:
        yield server


@pytest.fixture
async def context(tmp_path: Path, fake: FakeFal) -> AsyncIterator[ProviderContext]:
    async with provider_context(
        tmp_path, fal_key=KEY, fal_queue_url=fake.url, fal_edit_models=EDITS
    ) as ctx:
        yield ctx


@pytest.fixture
def registry(context: ProviderContext) -> Registry:
    return build_registry(context.settings, environ={})


async def edit(
    registry: Registry, context: ProviderContext, model: str, *images: Media, **fields: Any
) -> list[Event]:
    pictures = fields.pop("images", images or (picture(),))
    request = ImageRequest(prompt=fields.pop("prompt", "make it snow"), images=pictures, **fields)
    entry = registry.resolve(model, Kind.EDIT)
    return [event async for event in generate_images(entry, request, context)]


def toml_registry(tmp_path: Path, fake: FakeFal, models: str) -> Registry:
    """A registry from a providers.toml fal entry whose ``edit_models`` table is ``models``."""
    path = tmp_path / "providers.toml"
    path.write_text(
        f'[[provider]]\nname = "fal"\ntype = "fal"\nbase_url = "{fake.url}"\n'
        f'api_key_env = "FAL_KEY"\n\n[provider.edit_models]\n{models}\n'
    )
    settings = ProviderSettings(_env_file=None, data_dir=tmp_path, providers_file=path)  # type: ignore[call-arg]
    return build_registry(settings, environ={"FAL_KEY": KEY})


def sent_pictures(fake: FakeFal) -> dict[str, DataUrl | list[DataUrl]]:
    (queued,) = fake.requests_by_id.values()
    return queued.pictures


# --- one picture, a list of pictures ----------------------------------------------------------


async def test_one_picture_goes_up_as_a_data_uri_in_image_url(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    events = await edit(registry, context, "fal/kontext", n=2, seed=4, aspect_ratio="16:9", cfg=2.5)

    [(app, body)] = fake.submissions
    assert app == "fal-ai/flux-pro/kontext"
    assert body == {
        "prompt": "make it snow",
        "image_url": "data:image/png;base64," + base64.b64encode(PNG).decode(),
        "num_images": 2,
        "aspect_ratio": "16:9",  # Kontext's own field, not image_size
        "seed": 4,
        "guidance_scale": 2.5,
    }
    assert sent_pictures(fake) == {"image_url": DataUrl("image/png", PNG)}
    result = events[-1]
    assert isinstance(result, ImageResponse) and len(result.images) == 2
    assert result.model == "fal-ai/flux-pro/kontext" and result.seed == 4
    assert next(e.label for e in events if isinstance(e, Progress)) == "Sent to fal"


def test_kontext_offers_what_fal_publishes_for_it(registry: Registry) -> None:
    options = registry.resolve("fal/kontext", Kind.EDIT).options
    multi = registry.resolve("fal/multi", Kind.EDIT).options
    assert options is not None and multi is not None
    assert options.min_pictures == 1 and options.max_pictures == 1 and multi.max_pictures == 4
    assert options.steps is None and not options.strength and not options.negative_prompt
    assert "21:9" in options.aspect_ratios and options.max_images == 4
    assert options.cfg == (1, 20)


async def test_a_list_field_gets_every_picture_unchanged_and_in_order(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    big = bytes(range(256)) * 2000  # every byte value, half a megabyte
    images = (picture(png_bytes(2, 2)), picture(JPEG, None), picture(big, "image/webp"))
    await edit(registry, context, "fal/multi", *images)

    [(app, body)] = fake.submissions
    assert app == "fal-ai/flux-pro/kontext/multi" and "image_url" not in body
    assert sent_pictures(fake) == {
        "image_urls": [
            DataUrl("image/png", png_bytes(2, 2)),
            DataUrl("image/jpeg", JPEG),  # typed by its bytes
            DataUrl("image/webp", big),
        ]
    }


async def test_more_pictures_than_the_app_takes_are_refused_before_anything_is_sent(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    with pytest.raises(InvalidOption) as one:
        await edit(registry, context, "fal/kontext", picture(), picture())
    assert one.value.code == ErrorCode.ONE_PICTURE
    with pytest.raises(InvalidOption) as many:
        await edit(registry, context, "fal/multi", *[picture()] * 5)
    assert many.value.code == ErrorCode.PICTURE_COUNT and many.value.params["max"] == 4
    with pytest.raises(InvalidOption) as none:
        await edit(registry, context, "fal/kontext", images=())
    assert none.value.code == ErrorCode.NEEDS_PICTURE
    assert fake.requests == []


async def test_an_unknown_app_gets_one_picture_a_size_and_a_seed(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    options = registry.resolve("fal/other", Kind.EDIT).options
    assert options is not None and options.max_pictures == 1 and options.max_images == 1
    assert options.steps is None and options.cfg is None and not options.strength
    await edit(registry, context, "fal/other", aspect_ratio="1:1", seed=3)
    [(app, body)] = fake.submissions
    assert app == "someone/edit-app"
    assert set(body) == {"prompt", "image_url", "image_size", "seed"}
    assert body["image_size"] == "square_hd"


@pytest.mark.parametrize(
    ("table", "field", "is_list", "most"),
    [
        ('edit = { upstream = "someone/app", image_field = "images" }', "images", True, 10),
        ('edit = { upstream = "someone/app", image_field = "reference" }', "reference", False, 1),
        (
            'edit = { upstream = "someone/app", image_field = "image_urls", image_list = false }',
            "image_urls",
            False,
            1,
        ),
        (
            'edit = { upstream = "someone/app", image_field = "image", image_list = true }',
            "image",
            True,
            10,
        ),
        (
            'edit = { upstream = "fal-ai/flux-pro/kontext", image_field = "image_urls" }',
            "image_urls",
            True,
            10,
        ),
    ],
    ids=["plural-name", "singular-name", "table-says-one", "table-says-list", "known-app-renamed"],
)
async def test_the_inline_table_names_the_field_and_whether_it_is_a_list(
    fake: FakeFal,
    tmp_path: Path,
    table: str,
    field: str,
    is_list: bool,
    most: int,
) -> None:
    registry = toml_registry(tmp_path, fake, table)
    entry = registry.resolve("fal/edit", Kind.EDIT)
    assert entry.options is not None and entry.options.max_pictures == most
    async with provider_context(tmp_path) as context:
        await edit(registry, context, "fal/edit", picture())

    [(_, body)] = fake.submissions
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert body[field] == ([uri] if is_list else uri)
    assert not {"image_url", "image_urls", "images", "image"} - {field} & set(body)


# --- strength -----------------------------------------------------------------------------------


async def test_strength_goes_to_an_image_to_image_app_as_strength(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    options = registry.resolve("fal/i2i", Kind.EDIT).options
    assert options is not None and options.strength and options.steps == (10, 50)
    await edit(registry, context, "fal/i2i", strength=0.35, steps=20)
    await edit(registry, context, "fal/i2i", strength=0.0)
    first, second = (body for _, body in fake.submissions)
    assert first["strength"] == 0.35 and first["num_inference_steps"] == 20
    assert first["image_url"].startswith("data:image/png;base64,")
    assert second["strength"] == 0.01  # fal's lowest: 0 itself is refused upstream


@pytest.mark.parametrize("model", ["fal/kontext", "fal/multi", "fal/other"])
async def test_strength_is_refused_before_anything_is_sent_where_the_app_takes_none(
    fake: FakeFal, registry: Registry, context: ProviderContext, model: str
) -> None:
    with pytest.raises(InvalidOption) as info:
        await edit(registry, context, model, strength=0.5)
    assert info.value.code == ErrorCode.NO_STRENGTH
    assert fake.requests == []


# --- moderation -------------------------------------------------------------------------------


async def test_a_refusal_while_the_app_runs_is_refused_not_a_failure(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.refuse_next = POLICY_MESSAGE
    with pytest.raises(Refused) as info:
        await edit(registry, context, "fal/kontext")
    assert info.value.code == ErrorCode.MODERATION_REASON
    assert info.value.user_message == (
        f"fal: refused this request (its moderation flagged it: {POLICY_MESSAGE})"
    )
    assert not counts_against_provider(info.value)
    (request_id,) = fake.requests_by_id
    assert fake.seen(f"/requests/{request_id}")  # the result, where fal spells the refusal out


async def test_a_refusal_named_in_the_status_needs_no_result(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.refuse_next = "flagged"
    fake.status_error_type = "content_policy_violation"
    with pytest.raises(Refused, match="flagged"):
        await edit(registry, context, "fal/kontext")
    results = [r for r in fake.requests if r.method == "GET" and not r.path.endswith("/status")]
    assert results == []


async def test_a_refusal_at_submission_is_refused_and_never_shows_the_key(
    fake: FakeFal,
    registry: Registry,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.refuse_submit = f"blocked for key {KEY}"
    with pytest.raises(Refused) as info:
        await edit(registry, context, "fal/kontext")
    assert KEY not in info.value.user_message and KEY not in repr(info.value)
    assert "***" in info.value.user_message
    assert KEY not in caplog.text
    assert fake.requests_by_id == {}


async def test_an_app_error_that_is_no_refusal_stays_a_failure_of_the_app(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.fail_next = "image too small"
    with pytest.raises(Exception) as info:
        await edit(registry, context, "fal/kontext")
    assert not isinstance(info.value, Refused)
    assert "could not draw it: image too small" in str(info.value)


# --- resume -----------------------------------------------------------------------------------


async def test_an_edit_is_followed_again_after_a_restart_without_a_second_submission(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.queue_ahead, fake.queue_frozen = 3, True
    entry = registry.resolve("fal/kontext", Kind.EDIT)
    request = ImageRequest("make it snow", images=(picture(),))
    stream = generate_images(entry, request, context)
    first = await anext(stream)
    await stream.aclose()  # the process died with the request in fal's queue
    assert isinstance(first, Progress) and first.resume

    fake.queue_frozen = False
    resumed = resume_images(entry, first.resume, request, context)
    assert resumed is not None
    events = [event async for event in resumed]
    assert isinstance(events[-1], ImageResponse)
    assert len(fake.submissions) == 1 and fake.cancels == []
    assert sent_pictures(fake) == {"image_url": DataUrl("image/png", PNG)}
