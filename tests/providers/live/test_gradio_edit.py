"""Gradio edit models against the loopback Gradio app: the pictures are uploaded first (one
``files`` part each, bytes unchanged, in order), then named as FileData in the endpoint's
Image, File or Gallery input; what cannot work is refused before anything goes up."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from providers import (
    Event,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    Progress,
    ProviderContext,
    Registry,
    ResponseError,
    Stage,
    generate_images,
)
from providers.core.entry import ProviderConfig
from providers.live.gradio.space import GradioSpace
from tests.fakes.gradio_app import IMAGE_EDIT, AppJob, FakeGradio, Param
from tests.helpers import provider_context

FILE_META = {"_type": "gradio.FileData"}


def picture(size: tuple[int, int], colour: tuple[int, int, int], kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=kind)
    return buffer.getvalue()


RED = picture((40, 30), (200, 20, 20))
GREEN_JPEG = picture((16, 16), (20, 200, 20), "JPEG")
BLUE = picture((8, 24), (20, 20, 200))


@pytest.fixture
async def app() -> AsyncIterator[FakeGradio]:
    async with FakeGradio() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def space(url: str, key: str | None = None) -> GradioSpace:
    config = ProviderConfig.model_validate(
        {
            "name": "myspace",
            "type": "gradio",
            "base_url": url,
            "image_models": {"flux-dev": "/infer"},
            "edit_models": {
                "kontext": "/edit",
                "combine": {"upstream": "/combine", "image_list": True},
                "stack": {"upstream": "/stack", "image_list": True},
                "restyle": "/restyle",
                "many-edit": {"upstream": "/single", "image_list": True},
                "not-an-editor": "/infer",
            },
        }
    )
    return GradioSpace(config, SecretStr(key) if key else None)


async def edit(
    app: FakeGradio,
    context: ProviderContext,
    model: str,
    *pictures: bytes,
    key: str | None = None,
    **options: Any,
) -> list[Event]:
    entry = Registry([space(app.url, key)]).resolve(f"myspace/{model}", Kind.EDIT)
    media = tuple(Media(data, "from-the-user.jpg") for data in pictures)
    request = ImageRequest("make it snow", images=media, **options)
    return [event async for event in generate_images(entry, request, context)]


def posted(app: FakeGradio) -> dict[str, Any]:
    """The values, by parameter name, of the single job the app received."""
    [job] = app.jobs.values()
    assert isinstance(job, AppJob) and job.problem is None
    return job.values


def file_data(app: FakeGradio, index: int) -> dict[str, Any]:
    """What the index-th upload should be named as in the call."""
    upload = app.uploads[index]
    return {"path": upload.path, "orig_name": upload.part.filename, "meta": FILE_META}


# --- what goes up, and in what order ----------------------------------------------------------


async def test_the_picture_is_uploaded_before_the_call_and_named_as_file_data(
    app: FakeGradio, context: ProviderContext
) -> None:
    events = await edit(app, context, "kontext", RED, strength=0.35)

    assert [(r.method, r.path) for r in app.requests[:3]] == [
        ("GET", "/gradio_api/info"),
        ("POST", "/gradio_api/upload"),
        ("POST", "/gradio_api/call/edit"),
    ]
    [upload] = app.uploads
    assert (upload.part.name, upload.part.filename, upload.part.content_type) == (
        "files",
        "picture1.png",
        "image/png",
    )
    assert upload.part.data == RED
    assert posted(app) == {
        "image": {"path": upload.path, "orig_name": "picture1.png", "meta": FILE_META},
        "prompt": "make it snow",
        "strength": 0.35,
    }
    assert [e.stage for e in events if isinstance(e, Progress)][:2] == [
        Stage.SUBMITTED,
        Stage.QUEUED,
    ]
    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert (result.alt, result.model) == ("make it snow", "/edit")


async def test_without_a_strength_the_slider_keeps_its_default(
    app: FakeGradio, context: ProviderContext
) -> None:
    await edit(app, context, "kontext", GREEN_JPEG)
    assert posted(app)["strength"] == 0.8
    assert app.uploads[0].part.filename == "picture1.jpg"
    assert app.uploads[0].part.content_type == "image/jpeg"


async def test_several_pictures_fill_a_gallery_in_order(
    app: FakeGradio, context: ProviderContext
) -> None:
    await edit(app, context, "combine", BLUE, RED, GREEN_JPEG, seed=7)

    assert len(app.seen("/gradio_api/upload")) == 1  # one request for all of them
    assert [u.part.data for u in app.uploads] == [BLUE, RED, GREEN_JPEG]
    assert [u.part.filename for u in app.uploads] == [
        "picture1.png",
        "picture2.png",
        "picture3.jpg",
    ]
    values = posted(app)
    assert values["images"] == [
        {"image": file_data(app, index), "caption": None} for index in range(3)
    ]
    assert (values["prompt"], values["seed"]) == ("make it snow", 7)


async def test_several_pictures_fill_a_list_of_files(
    app: FakeGradio, context: ProviderContext
) -> None:
    await edit(app, context, "stack", RED, BLUE)

    values = posted(app)
    assert values["files"] == [file_data(app, 0), file_data(app, 1)]
    assert [u.part.data for u in app.uploads] == [RED, BLUE]
    assert values["instruction"] == "make it snow"  # the only text box takes the prompt


async def test_a_strength_slider_may_be_called_denoise(
    app: FakeGradio, context: ProviderContext
) -> None:
    app.endpoints["/restyle"] = [
        Param("prompt", "Textbox"),
        Param("source", "Image"),
        Param("denoise", "Slider", 0.5, 0, 0.9),
    ]
    await edit(app, context, "restyle", RED, strength=0.25)
    assert posted(app)["denoise"] == 0.25

    with pytest.raises(InvalidOption, match=r"takes strength from 0 to 0\.9"):
        await edit(app, context, "restyle", RED, strength=0.95)
    assert len(app.uploads) == 1  # the refused job uploaded nothing


async def test_the_token_goes_with_the_upload(app: FakeGradio, context: ProviderContext) -> None:
    await edit(app, context, "kontext", RED, key="hf_secret")
    assert app.authorizations == ["Bearer hf_secret"] * len(app.authorizations)
    assert app.seen("/gradio_api/upload")[0].headers["Authorization"] == "Bearer hf_secret"


# --- what is offered, and what is refused before anything goes up ----------------------------


def test_edit_models_are_offered_as_edits_taking_one_picture_unless_a_list(app: FakeGradio) -> None:
    specs = {spec.alias: spec for spec in space(app.url).offers()}
    assert specs["flux-dev"].kind == Kind.IMAGE
    kontext, combine = specs["kontext"], specs["combine"]
    assert (kontext.kind, kontext.upstream, combine.kind) == (Kind.EDIT, "/edit", Kind.EDIT)
    assert kontext.options is not None and combine.options is not None
    assert (kontext.options.min_pictures, kontext.options.max_pictures) == (1, 1)
    assert (combine.options.min_pictures, combine.options.max_pictures) == (1, 4)
    assert kontext.options.strength and combine.options.strength


async def test_an_endpoint_that_takes_no_pictures_is_no_edit_model(
    app: FakeGradio, context: ProviderContext
) -> None:
    with pytest.raises(ResponseError) as caught:
        await edit(app, context, "not-an-editor", RED)
    assert caught.value.user_message == (
        "myspace: /infer draws from text only and takes no pictures."
    )
    assert app.uploads == [] and app.jobs == {}


@pytest.mark.parametrize(
    ("model", "pictures", "options", "complaint"),
    [
        ("combine", (RED,), {"strength": 0.5}, "myspace/combine does not take a strength"),
        ("many-edit", (RED, BLUE), {}, "myspace/many-edit takes one picture at a time"),
        ("kontext", (RED, BLUE), {}, "myspace/kontext takes one picture at a time"),
        ("kontext", (), {}, "myspace/kontext changes pictures"),
    ],
)
async def test_what_the_endpoint_cannot_take_is_refused_before_any_upload(
    app: FakeGradio,
    context: ProviderContext,
    model: str,
    pictures: tuple[bytes, ...],
    options: dict[str, Any],
    complaint: str,
) -> None:
    app.endpoints["/single"] = IMAGE_EDIT  # listed as taking several pictures: it takes one
    with pytest.raises(InvalidOption, match=complaint):
        await edit(app, context, model, *pictures, **options)
    assert app.uploads == [] and app.jobs == {}


async def test_an_unreadable_upload_answer_is_a_response_error(
    app: FakeGradio, context: ProviderContext
) -> None:
    app.upload_answer = {"detail": "Not Found"}
    with pytest.raises(ResponseError, match="sent a response we could not read"):
        await edit(app, context, "kontext", RED)
    assert app.jobs == {}


async def test_a_path_the_app_never_received_fails_the_job(
    app: FakeGradio, context: ProviderContext
) -> None:
    app.upload_answer = ["/tmp/gradio/elsewhere/picture1.png"]
    with pytest.raises(ResponseError, match="is not in the upload folder"):
        await edit(app, context, "kontext", RED)
