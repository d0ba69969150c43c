"""Gradio edit models against a real Gradio server (the ``gradio`` package) on 127.0.0.1,
started once for this module, offline: the pictures reach the app's function as the very files
sent, in order; and ``gradio_client`` sees the same app, so what we send is what real clients
send."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from providers import (
    Event,
    ImageRequest,
    ImageResponse,
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
from tests.helpers import provider_context
from tests.peers.gradio_app import received
from tests.peers.gradio_server import GradioApp, offline_environment, running_gradio_app

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def gradio_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradioApp]:
    with running_gradio_app(tmp_path_factory.mktemp("gradio")) as app:
        yield app


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def halves(size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int]) -> bytes:
    """A PNG whose left half is ``left`` and right half ``right``."""
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


RED_BLUE = halves((40, 30), (200, 0, 0), (0, 0, 200))
GREEN = Image.new("RGB", (16, 24), (0, 180, 0))


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def registry(url: str) -> Registry:
    config = ProviderConfig.model_validate(
        {
            "name": "local",
            "type": "gradio",
            "label": "Local Gradio",
            "base_url": url,
            "edit_models": {
                "mirror": "/edit",
                "combine": {"upstream": "/combine", "image_list": True},
                "drawer": "/infer",
            },
        }
    )
    return Registry([GradioSpace(config)])


async def edit(
    app: GradioApp, context: ProviderContext, model: str, prompt: str, *pictures: bytes, **kw: Any
) -> list[Event]:
    entry = registry(app.url).resolve(f"local/{model}", Kind.EDIT)
    request = ImageRequest(prompt, images=tuple(Media(p) for p in pictures), **kw)
    return [event async for event in generate_images(entry, request, context)]


def record(app: GradioApp, prompt: str) -> dict[str, Any]:
    """What the app's function received for the one job with ``prompt``."""
    [found] = [r for r in received(app.log) if r["prompt"] == prompt]
    return found


async def result_picture(context: ProviderContext, events: list[Event]) -> Image.Image:
    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert isinstance(result.images[0], str)
    data = await context.http.read(result.images[0], provider="test")
    return Image.open(io.BytesIO(data)).convert("RGB")


async def test_the_function_receives_the_uploaded_picture_unchanged(
    gradio_app: GradioApp, context: ProviderContext
) -> None:
    events = await edit(gradio_app, context, "mirror", "mirror it", RED_BLUE, strength=0.3)

    got = record(gradio_app, "mirror it")
    assert got["endpoint"] == "/edit"
    assert got["files"] == [{"size": [40, 30], "sha256": sha(RED_BLUE)}]
    assert got["strength"] == 0.3
    stages = [e.stage for e in events if isinstance(e, Progress)]
    assert stages[:2] == [Stage.SUBMITTED, Stage.QUEUED]
    mirrored = await result_picture(context, events)
    assert mirrored.size == (40, 30)
    assert mirrored.getpixel((2, 2)) == (0, 0, 200)  # the blue half is now on the left
    assert mirrored.getpixel((37, 2)) == (200, 0, 0)


async def test_without_a_strength_the_app_uses_its_own(
    gradio_app: GradioApp, context: ProviderContext
) -> None:
    await edit(gradio_app, context, "mirror", "default strength", jpeg(GREEN))
    got = record(gradio_app, "default strength")
    assert got["strength"] == 0.8
    assert got["files"] == [{"size": [16, 24], "sha256": sha(jpeg(GREEN))}]


async def test_a_gallery_gets_every_picture_in_order(
    gradio_app: GradioApp, context: ProviderContext
) -> None:
    pictures = (RED_BLUE, jpeg(GREEN), halves((10, 10), (9, 9, 9), (9, 9, 9)))
    events = await edit(gradio_app, context, "combine", "side by side", *pictures)

    got = record(gradio_app, "side by side")
    assert [f["sha256"] for f in got["files"]] == [sha(p) for p in pictures]
    assert [f["size"] for f in got["files"]] == [[40, 30], [16, 24], [10, 10]]
    assert (await result_picture(context, events)).size == (66, 30)


async def test_an_endpoint_without_a_picture_input_is_no_edit_model(
    gradio_app: GradioApp, context: ProviderContext
) -> None:
    with pytest.raises(ResponseError) as caught:
        await edit(gradio_app, context, "drawer", "a fox", RED_BLUE)
    assert caught.value.user_message == (
        "Local Gradio: /infer draws from text only and takes no pictures."
    )


def test_gradio_client_reaches_the_same_function_the_same_way(
    gradio_app: GradioApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in offline_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    # Imported here, with the offline environment set: huggingface_hub (which gradio_client
    # imports) reads its offline and telemetry switches when it is first imported.
    from gradio_client import Client, handle_file  # type: ignore[import-untyped]

    source = tmp_path / "photo.png"
    source.write_bytes(RED_BLUE)
    client = Client(gradio_app.url, verbose=False, download_files=str(tmp_path / "out"))
    try:
        path = client.predict(handle_file(source), "by the client", 0.6, api_name="/edit")
        client.predict("client gallery", [{"image": handle_file(source)}], api_name="/combine")
    finally:
        client.close()

    # The official client uploads the file and names it as a FileData, as the provider does:
    # the function sees the same bytes.
    assert record(gradio_app, "by the client")["files"] == [
        {"size": [40, 30], "sha256": sha(RED_BLUE)}
    ]
    assert record(gradio_app, "client gallery")["files"] == [
        {"size": [40, 30], "sha256": sha(RED_BLUE)}
    ]
    assert Image.open(path).size == (40, 30)


def test_the_operators_cli_edits_with_it(gradio_app: GradioApp, tmp_path: Path) -> None:
    toml = tmp_path / "providers.toml"
    toml.write_text(
        f'[[provider]]\nname = "myspace"\ntype = "gradio"\nbase_url = "{gradio_app.url}"\n'
        'edit_models = { mirror = "/edit" }\n'
    )
    photo = tmp_path / "photo.png"
    photo.write_bytes(RED_BLUE)
    env = {**os.environ, "PROVIDERS_FILE": str(toml), "DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "providers", "edit", "cli mirror", "--image", str(photo)]
    done = subprocess.run(
        [*command, "--model", "myspace/mirror", "--strength", "0.4", "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [saved] = [Path(line) for line in done.stdout.splitlines()]
    assert Image.open(saved).convert("RGB").getpixel((2, 2)) == (0, 0, 200)
    got = record(gradio_app, "cli mirror")
    assert (got["files"], got["strength"]) == ([{"size": [40, 30], "sha256": sha(RED_BLUE)}], 0.4)


def test_the_app_never_tried_to_leave_the_machine(gradio_app: GradioApp) -> None:
    assert gradio_app.outbound() == []
