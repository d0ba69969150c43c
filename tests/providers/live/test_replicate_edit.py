"""Replicate edit models against the loopback API: the pictures as data URLs in the model's field
(one, or a list as the table, the published schema or the field's name says), pictures over a
megabyte through the files API, a strength only where the model has a strength field, E005 as a
refusal, and an edit followed again by its prediction id after a restart."""

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
from providers.live.replicate_edits import DATA_URL_LIMIT
from providers.routing.api import resume_images
from providers.routing.config import build_registry
from providers.routing.health import counts_against_provider
from tests.fakes.fal import DataUrl
from tests.fakes.prodia import png_bytes
from tests.fakes.replicate import LIST_INPUT, SENSITIVE, FakeReplicate
from tests.helpers import provider_context

TOKEN = "r8_edit_token_do_not_leak_77"
EDITS = (
    "black-forest-labs/flux-kontext-pro,img2img=black-forest-labs/flux-dev,"
    "banana=google/nano-banana,other=someone/restyle"
)
PNG = png_bytes(6, 4)
LARGE = bytes(range(256)) * 3200
"""800 KiB: its data URL is longer than Replicate takes (about 1 MB)."""


def picture(data: bytes = PNG, content_type: str = "image/png") -> Media:
    return Media(data, "photo.png", content_type)


def uri(data: bytes = PNG, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


@pytest.fixture
async def fake() -> AsyncIterator[FakeReplicate]:
    server = FakeReplicate(token=TOKEN)
    server.starting_polls = server.processing_polls = 0
    async with server:
        yield server


@pytest.fixture
async def context(tmp_path: Path, fake: FakeReplicate) -> AsyncIterator[ProviderContext]:
    async with provider_context(
        tmp_path,
        replicate_api_token=TOKEN,
        replicate_api_url=fake.api,
        replicate_edit_models=EDITS,
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


def toml_registry(tmp_path: Path, fake: FakeReplicate, models: str) -> Registry:
    """A registry from a providers.toml Replicate entry whose ``edit_models`` are ``models``."""
    path = tmp_path / "providers.toml"
    path.write_text(
        f'[[provider]]\nname = "replicate"\ntype = "replicate"\nbase_url = "{fake.api}"\n'
        f'api_key_env = "REPLICATE_API_TOKEN"\n\n[provider.edit_models]\n{models}\n'
    )
    settings = ProviderSettings(_env_file=None, data_dir=tmp_path, providers_file=path)  # type: ignore[call-arg]
    return build_registry(settings, environ={"REPLICATE_API_TOKEN": TOKEN})


def sent(fake: FakeReplicate) -> dict[str, Any]:
    """The input of the one prediction created."""
    [(_, body, _)] = fake.creations
    model_input: dict[str, Any] = body["input"]
    return model_input


def pictures(fake: FakeReplicate) -> dict[str, DataUrl | list[DataUrl]]:
    (prediction,) = fake.predictions.values()
    return prediction.pictures


# --- the field's shape ------------------------------------------------------------------------


async def test_kontext_gets_one_data_url_in_input_image_without_a_schema_lookup(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    events = await edit(registry, context, "replicate/flux-kontext-pro", aspect_ratio="4:5", seed=3)

    [(path, body, _)] = fake.creations
    assert path == "/v1/models/black-forest-labs/flux-kontext-pro/predictions"
    assert body == {
        "input": {"prompt": "make it snow", "aspect_ratio": "4:5", "seed": 3, "input_image": uri()}
    }
    assert pictures(fake) == {"input_image": DataUrl("image/png", PNG)}
    assert fake.schema_fetches == []  # a model we know needs no schema
    result = events[-1]
    assert (
        isinstance(result, ImageResponse) and result.model == "black-forest-labs/flux-kontext-pro"
    )


def test_what_each_edit_model_offers(registry: Registry) -> None:
    kontext = registry.resolve("replicate/flux-kontext-pro", Kind.EDIT).options
    other = registry.resolve("replicate/other", Kind.EDIT).options
    assert kontext is not None and other is not None
    assert kontext.min_pictures == 1 and kontext.max_pictures == 1 and not kontext.strength
    assert "match_input_image" not in kontext.aspect_ratios and "2:1" in kontext.aspect_ratios
    # a model we do not know: its schema decides when the job runs
    assert other.max_pictures == 10 and other.strength


async def test_a_list_field_found_in_the_schema_gets_every_picture_in_order(
    fake: FakeReplicate, tmp_path: Path
) -> None:
    fake.schemas["google/nano-banana"] = LIST_INPUT  # image_input: type array
    registry = toml_registry(
        tmp_path, fake, 'banana = { upstream = "google/nano-banana", image_field = "image_input" }'
    )
    images = (picture(png_bytes(2, 2)), picture(b"\xff\xd8\xff" + bytes(300), "image/jpeg"))
    async with provider_context(tmp_path) as context:
        await edit(registry, context, "replicate/banana", *images)
        await edit(registry, context, "replicate/banana", picture())

    first, second = (body["input"] for _, body, _ in fake.creations)
    assert first["image_input"] == [uri(png_bytes(2, 2)), uri(images[1].data, "image/jpeg")]
    assert second["image_input"] == [uri()]  # a list of one, as the schema asks
    assert fake.schema_fetches == ["/v1/models/google/nano-banana"]  # once, then kept
    assert fake.predictions[next(iter(fake.predictions))].pictures == {
        "image_input": [
            DataUrl("image/png", png_bytes(2, 2)),
            DataUrl("image/jpeg", images[1].data),
        ]
    }


async def test_a_field_the_schema_says_is_one_picture_refuses_more_before_creating(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.schemas["someone/restyle"] = {
        "prompt": {"type": "string"},
        "input_image": {"type": "string"},
    }
    with pytest.raises(InvalidOption) as info:
        await edit(registry, context, "replicate/other", picture(), picture())
    assert info.value.code == ErrorCode.ONE_PICTURE
    assert info.value.params["model"] == "replicate/other"
    assert fake.creations == [] and fake.uploads == {}
    await edit(registry, context, "replicate/other", picture())
    assert sent(fake)["input_image"] == uri()


@pytest.mark.parametrize(
    ("field", "is_list"), [("reference_images", True), ("source_image", False)]
)
async def test_without_a_schema_the_fields_name_decides(
    fake: FakeReplicate, tmp_path: Path, field: str, is_list: bool
) -> None:
    fake.schema_status = 500
    registry = toml_registry(
        tmp_path, fake, f'edit = {{ upstream = "someone/collage", image_field = "{field}" }}'
    )
    async with provider_context(tmp_path) as context:
        await edit(registry, context, "replicate/edit")
        await edit(registry, context, "replicate/edit")
    for _, body, _ in fake.creations:
        assert body["input"][field] == ([uri()] if is_list else uri())
    assert len(fake.schema_fetches) == 1  # a failed lookup is not repeated for every job


@pytest.mark.parametrize(
    ("table", "field", "value"),
    [
        (
            'edit = { upstream = "someone/multi", image_field = "images", image_list = false }',
            "images",
            uri(),
        ),
        (
            'edit = { upstream = "someone/multi", image_field = "image", image_list = true }',
            "image",
            [uri()],
        ),
    ],
    ids=["table-says-one", "table-says-list"],
)
async def test_the_inline_table_settles_the_shape_without_a_schema(
    fake: FakeReplicate, tmp_path: Path, table: str, field: str, value: object
) -> None:
    registry = toml_registry(tmp_path, fake, table)
    async with provider_context(tmp_path) as context:
        await edit(registry, context, "replicate/edit")
    assert sent(fake)[field] == value
    assert fake.schema_fetches == []


# --- large pictures -----------------------------------------------------------------------------


async def test_a_picture_over_a_megabyte_goes_up_through_the_files_api(
    fake: FakeReplicate, tmp_path: Path
) -> None:
    fake.schemas["google/nano-banana"] = LIST_INPUT
    registry = toml_registry(
        tmp_path, fake, 'banana = { upstream = "google/nano-banana", image_field = "image_input" }'
    )
    assert len(uri(LARGE)) > DATA_URL_LIMIT > len(uri(PNG))
    async with provider_context(tmp_path) as context:
        await edit(registry, context, "replicate/banana", picture(), picture(LARGE, "image/webp"))

    (upload,) = fake.uploads.values()
    assert (upload.data, upload.content_type, upload.filename) == (LARGE, "image/webp", "photo.png")
    assert sent(fake)["image_input"] == [uri(), fake.file_url(upload)]  # the small one inline
    assert pictures(fake) == {
        "image_input": [DataUrl("image/png", PNG), DataUrl("image/webp", LARGE)]
    }
    [upload_request] = fake.seen("/v1/files")
    assert upload_request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_a_large_picture_for_a_one_picture_model_is_the_files_url(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    await edit(registry, context, "replicate/flux-kontext-pro", picture(LARGE))
    (upload,) = fake.uploads.values()
    assert sent(fake)["input_image"] == fake.file_url(upload)
    assert pictures(fake) == {"input_image": DataUrl("image/png", LARGE)}


# --- strength -----------------------------------------------------------------------------------


async def test_strength_goes_to_prompt_strength_of_flux_dev(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    await edit(registry, context, "replicate/img2img", strength=0.3, n=2)
    model_input = sent(fake)
    assert model_input["prompt_strength"] == 0.3 and "strength" not in model_input
    assert model_input["image"] == uri() and model_input["num_outputs"] == 2
    assert fake.schema_fetches == []


async def test_strength_is_refused_before_any_request_for_a_model_known_to_take_none(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    with pytest.raises(InvalidOption) as info:
        await edit(registry, context, "replicate/flux-kontext-pro", strength=0.5)
    assert info.value.code == ErrorCode.NO_STRENGTH
    assert fake.requests == []


async def test_the_schema_says_where_an_unknown_models_strength_goes(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.schemas["someone/restyle"] = {
        "prompt": {"type": "string"},
        "input_image": {"type": "string", "format": "uri"},
        "strength": {"type": "number", "minimum": 0, "maximum": 1},
    }
    await edit(registry, context, "replicate/other", strength=0.7)
    assert sent(fake)["strength"] == 0.7 and sent(fake)["input_image"] == uri()


async def test_an_unknown_model_without_a_strength_field_is_refused_before_creating(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.schemas["someone/restyle"] = {
        "prompt": {"type": "string"},
        "input_image": {"type": "string"},
    }
    with pytest.raises(InvalidOption) as info:
        await edit(registry, context, "replicate/other", strength=0.7)
    assert info.value.code == ErrorCode.NO_STRENGTH
    assert fake.creations == [] and fake.schema_fetches == ["/v1/models/someone/restyle"]


async def test_a_pinned_versions_schema_comes_from_that_version(
    fake: FakeReplicate, tmp_path: Path
) -> None:
    fake.schemas["someone/pinned"] = LIST_INPUT
    registry = toml_registry(
        tmp_path,
        fake,
        'pin = { upstream = "someone/pinned:abc123", image_field = "image_input" }',
    )
    async with provider_context(tmp_path) as context:
        entry = registry.resolve("replicate/pin", Kind.EDIT)
        schema = await entry.provider._edits.schema("someone/pinned:abc123", context)  # type: ignore[attr-defined]
    assert fake.schema_fetches == ["/v1/models/someone/pinned/versions/abc123"]
    assert schema is not None and schema.is_list("image_input") is True


# --- moderation -------------------------------------------------------------------------------


@pytest.mark.parametrize("waited", [False, True], ids=["polled", "finished-while-waiting"])
async def test_a_prediction_flagged_as_sensitive_is_refused_not_a_failure(
    fake: FakeReplicate, registry: Registry, context: ProviderContext, waited: bool
) -> None:
    fake.finish_while_waiting = waited
    fake.fail_next = SENSITIVE
    with pytest.raises(Refused) as info:
        await edit(registry, context, "replicate/flux-kontext-pro")
    assert info.value.code == ErrorCode.MODERATION_REASON
    assert info.value.user_message == (
        f"Replicate: refused this request (its moderation flagged it: {SENSITIVE})"
    )
    assert not counts_against_provider(info.value)


async def test_the_token_never_shows_in_a_refusal_or_the_logs(
    fake: FakeReplicate,
    registry: Registry,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next = f"{SENSITIVE} token={TOKEN}"
    with pytest.raises(Refused) as info:
        await edit(registry, context, "replicate/flux-kontext-pro")
    assert TOKEN not in info.value.user_message and TOKEN not in repr(info.value)
    fake.schema_status = 401
    await edit(registry, context, "replicate/other")  # the schema lookup fails and is logged
    assert "no input schema" in caplog.text
    assert TOKEN not in caplog.text


# --- resume -----------------------------------------------------------------------------------


async def test_an_edit_is_followed_again_by_its_prediction_id_after_a_restart(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.starting_polls = 10**6
    entry = registry.resolve("replicate/flux-kontext-pro", Kind.EDIT)
    request = ImageRequest("make it snow", images=(picture(),))
    stream = generate_images(entry, request, context)
    first = await anext(stream)
    await stream.aclose()  # the process died with the prediction starting
    assert isinstance(first, Progress) and first.job_id

    fake.predictions[first.job_id].starting_polls = 0
    resumed = resume_images(entry, first.job_id, request, context)
    assert resumed is not None
    events = [event async for event in resumed]
    assert isinstance(events[-1], ImageResponse)
    assert len(fake.creations) == 1 and fake.cancels == [] and fake.uploads == {}
    assert pictures(fake) == {"input_image": DataUrl("image/png", PNG)}
