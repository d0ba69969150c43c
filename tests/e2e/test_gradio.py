"""/imagine end to end with a Gradio Space configured in providers.toml (a loopback app)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import World
from tests.fakes.gradio_app import AppJob, FakeGradio

USER = 701


@pytest.fixture
async def space() -> AsyncIterator[FakeGradio]:
    async with FakeGradio() as app:
        yield app  # type: ignore[misc]


def providers_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "providers.toml"
    path.write_text(
        "[[provider]]\n"
        'name = "myspace"\n'
        'type = "gradio"\n'
        'label = "My FLUX Space"\n'
        f'base_url = "{url}"\n'
        'image_models = { flux-dev = "/infer" }\n'
    )
    return path


async def test_imagine_draws_with_the_configured_space(
    world: World, space: FakeGradio, tmp_path: Path
) -> None:
    toml = providers_file(tmp_path, space.url)
    async with world.bot(
        providers_file=toml, default_image_model="myspace/flux-dev", allow_private_urls=True
    ):
        command = world.tg.send_text(USER, "/imagine a fox on a hill --seed 7 --ar 16:9")
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.caption is not None
        assert photo.caption.startswith("a fox on a hill")
        assert photo.caption.endswith("🎨 myspace/flux-dev · seed 7")
        # The Space's WebP arrives converted, so every client shows it as a photo.
        assert photo.photo is not None
        assert Image.open(io.BytesIO(photo.photo)).format in ("PNG", "JPEG")
    [job] = space.jobs.values()
    assert isinstance(job, AppJob)
    assert job.values == {
        "prompt": "a fox on a hill",
        "seed": 7,
        "randomize_seed": False,
        "width": 1344,
        "height": 768,
        "num_inference_steps": 4,
        "style": "photo",
    }
    assert world.arta.job_list == [] and world.sd35.jobs == {}


async def test_a_space_out_of_quota_is_explained(
    world: World, space: FakeGradio, tmp_path: Path
) -> None:
    space.outcome = "error"
    toml = providers_file(tmp_path, space.url)
    async with world.bot(
        providers_file=toml, default_image_model="myspace/flux-dev", allow_private_urls=True
    ):
        command = world.tg.send_text(USER, "/imagine a fox --model myspace/flux-dev")
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: "GPU quota" in (status.text or ""))
        assert (status.text or "").startswith("⚠️ My FLUX Space: is out of GPU quota")


async def test_steps_the_space_does_not_take_are_explained(
    world: World, space: FakeGradio, tmp_path: Path
) -> None:
    toml = providers_file(tmp_path, space.url)
    async with world.bot(
        providers_file=toml, default_image_model="myspace/flux-dev", allow_private_urls=True
    ):
        command = world.tg.send_text(USER, "/imagine a fox --steps 40")
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: "takes steps from 1 to 12" in (status.text or ""))
    assert space.jobs == {}
