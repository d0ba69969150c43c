"""The generic ``gradio`` provider against a real Gradio server (the ``gradio`` package) on
127.0.0.1, started once for this module, offline; and the operator's CLI against it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image

from providers import (
    Event,
    ImagePreview,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Progress,
    ProviderContext,
    RateLimited,
    Registry,
    ResponseError,
    Stage,
    generate_images,
)
from providers.core.entry import ProviderConfig
from providers.live.gradio.space import GradioSpace
from tests.helpers import provider_context
from tests.peers.gradio_server import GradioApp, running_gradio_app

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def gradio_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradioApp]:
    with running_gradio_app(tmp_path_factory.mktemp("gradio")) as app:
        yield app


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def registry(url: str) -> Registry:
    config = ProviderConfig(
        name="local",
        type="gradio",
        label="Local Gradio",
        base_url=url,
        image_models={"flux-dev": "/infer", "edit": "/edit", "gone": "/nope"},
    )
    return Registry([GradioSpace(config)])


async def run(
    app: GradioApp, context: ProviderContext, request: ImageRequest, model: str = "flux-dev"
) -> list[Event]:
    entry = registry(app.url).resolve(f"local/{model}")
    return [event async for event in generate_images(entry, request, context)]


async def picture(context: ProviderContext, url: str | bytes) -> Image.Image:
    assert isinstance(url, str)
    return Image.open(io.BytesIO(await context.http.read(url, provider="test")))


async def test_picture_and_seed_arrive(gradio_app: GradioApp, context: ProviderContext) -> None:
    request = ImageRequest("a fox", seed=1234, aspect_ratio="16:9")
    events = await run(gradio_app, context, request)
    # The app's function is a generator: Gradio streams even its last yield as `generating`.
    assert [type(e) for e in events] == [Progress, Progress, ImagePreview, ImageResponse]
    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert (result.seed, result.alt, result.model) == (1234, "a fox", "/infer")
    image = await picture(context, result.images[0])
    # 16:9 near a megapixel is 1365x768; the app's sliders stop at 1280: shrunk, then 64s.
    assert image.format == "WEBP" and image.size == (1280, 704)


async def test_without_a_seed_the_app_draws_one_and_says_which(
    gradio_app: GradioApp, context: ProviderContext
) -> None:
    drawn = (await run(gradio_app, context, ImageRequest("a fox")))[-1]
    assert isinstance(drawn, ImageResponse)
    assert isinstance(drawn.seed, int) and 0 <= drawn.seed < 2**31
    first = await picture(context, drawn.images[0])
    assert first.size == (1024, 1024)  # no aspect ratio: the app's own default size
    # The reported seed is the one that drew it: asking for it again gives the same picture.
    again = (await run(gradio_app, context, ImageRequest("a fox", seed=drawn.seed)))[-1]
    assert isinstance(again, ImageResponse) and again.seed == drawn.seed
    second = await picture(context, again.images[0])
    assert second.tobytes() == first.tobytes()
    other = (await run(gradio_app, context, ImageRequest("a fox", seed=drawn.seed ^ 128)))[-1]
    assert isinstance(other, ImageResponse)
    assert (await picture(context, other.images[0])).tobytes() != first.tobytes()


async def test_previews_from_a_generator_endpoint(
    gradio_app: GradioApp, context: ProviderContext
) -> None:
    events = await run(gradio_app, context, ImageRequest("a fox", steps=3, aspect_ratio="1:1"))
    stages = [e.stage for e in events if isinstance(e, Progress)]
    assert stages == [Stage.QUEUED, Stage.GENERATING]
    previews = [e for e in events if isinstance(e, ImagePreview)]
    assert len(previews) >= 2
    assert (await picture(context, previews[0].images[0])).size == (64, 64)
    assert isinstance(events[-1], ImageResponse)


async def test_quota_error_is_rate_limited(gradio_app: GradioApp, context: ProviderContext) -> None:
    with pytest.raises(RateLimited, match="exceeded your GPU quota") as caught:
        await run(gradio_app, context, ImageRequest("out of quota"))
    assert caught.value.retry_after == 65
    assert caught.value.user_message.startswith("Local Gradio: is out of GPU quota")


async def test_steps_beyond_the_apps_slider_are_refused(
    gradio_app: GradioApp, context: ProviderContext
) -> None:
    with pytest.raises(InvalidOption, match="takes steps from 1 to 8"):
        await run(gradio_app, context, ImageRequest("a fox", steps=20))


async def test_an_endpoint_that_needs_a_picture(
    gradio_app: GradioApp, context: ProviderContext
) -> None:
    with pytest.raises(ResponseError, match=r"/edit needs the input 'Image' \(Image\)"):
        await run(gradio_app, context, ImageRequest("a fox"), model="edit")


async def test_an_endpoint_the_app_lacks(gradio_app: GradioApp, context: ProviderContext) -> None:
    with pytest.raises(
        ResponseError, match=r"has no endpoint /nope \(it has: /combine, /edit, /infer\)"
    ):
        await run(gradio_app, context, ImageRequest("a fox"), model="gone")


def test_the_operators_cli_draws_with_it(gradio_app: GradioApp, tmp_path: Path) -> None:
    toml = tmp_path / "providers.toml"
    toml.write_text(
        f'[[provider]]\nname = "myspace"\ntype = "gradio"\nbase_url = "{gradio_app.url}"\n'
        'image_models = { flux-dev = "/infer" }\n'
    )
    env = {**os.environ, "PROVIDERS_FILE": str(toml), "DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "out"
    command = [sys.executable, "-m", "providers", "imagine", "a fox", "--model", "myspace/flux-dev"]
    done = subprocess.run(
        [*command, "--seed", "77", "--ar", "3:2", "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [saved] = [Path(line) for line in done.stdout.splitlines()]
    assert saved.parent == out and saved.suffix == ".webp"
    assert Image.open(saved).size == (1280, 832)  # 3:2 near a megapixel, in 64s
    assert "seed: 77" in done.stderr
    assert "[queued]" in done.stderr

    bad = subprocess.run(
        [*command, "--steps", "50", "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2
    assert "myspace: takes steps from 1 to 8" in bad.stderr


def test_the_app_never_tried_to_leave_the_machine(gradio_app: GradioApp) -> None:
    assert gradio_app.outbound() == []
