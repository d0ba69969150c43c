"""The generic ``gradio`` provider against a loopback Gradio app with its own parameter list."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from providers import (
    Event,
    ImagePreview,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Progress,
    ProviderContext,
    ProviderSettings,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    Stage,
    cli,
    generate_images,
)
from providers.core.entry import ConfigError, ProviderConfig
from providers.live.gradio.space import GradioSpace
from providers.routing.config import build_registry, provider_types
from tests.fakes.gradio_app import AppJob, FakeGradio, Param
from tests.helpers import provider_context


@pytest.fixture
async def app() -> AsyncIterator[FakeGradio]:
    async with FakeGradio() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def space(url: str, key: str | None = None, **fields: Any) -> GradioSpace:
    config = ProviderConfig.model_validate(
        {
            "name": "myspace",
            "type": "gradio",
            "base_url": url,
            "image_models": {"flux-dev": "/infer", "edit": "/edit"},
            **fields,
        }
    )
    return GradioSpace(config, SecretStr(key) if key else None)


async def run(
    provider: GradioSpace, context: ProviderContext, request: ImageRequest, api: str = "/infer"
) -> list[Event]:
    entry = Registry([provider]).resolve(f"myspace/{'flux-dev' if api == '/infer' else 'edit'}")
    return [event async for event in generate_images(entry, request, context)]


def posted(app: FakeGradio) -> dict[str, Any]:
    """The values, by parameter name, of the single job the app received."""
    [job] = app.jobs.values()
    assert isinstance(job, AppJob) and job.problem is None
    return job.values


# --- the registry and the configuration -------------------------------------------------------


def test_gradio_type_is_built_in_and_offers_image_models() -> None:
    provider = provider_types()["gradio"](
        ProviderConfig(
            name="flux", type="gradio", base_url="https://x.hf.space/", image_models=["/infer"]
        ),
        None,
    )
    [spec] = provider.offers()
    assert (provider.name, provider.label, spec.alias, spec.upstream, spec.kind) == (
        "flux",
        "flux",
        "infer",
        "/infer",
        Kind.IMAGE,
    )
    assert spec.options is not None and "16:9" in spec.options.aspect_ratios


def test_providers_file_with_a_gradio_entry(tmp_path: Path) -> None:
    toml = tmp_path / "providers.toml"
    toml.write_text(
        '[[provider]]\nname = "myspace"\ntype = "gradio"\nlabel = "My Space"\n'
        'base_url = "https://me-flux.hf.space"\nimage_models = { flux-dev = "/infer" }\n'
    )
    settings = ProviderSettings(
        _env_file=None,  # type: ignore[call-arg]
        providers_file=toml,
        hf_token=SecretStr("hf_abc"),
    )
    registry = build_registry(settings, environ={})
    entry = registry.resolve("myspace/flux-dev")
    assert isinstance(entry.provider, GradioSpace)
    assert (entry.provider.label, entry.upstream) == ("My Space", "/infer")
    # HF_TOKEN applies to an hf.space URL whose entry names no key.
    assert entry.provider.headers == {"Authorization": "Bearer hf_abc"}
    assert "hf_abc" not in repr(entry.provider.__dict__)


def test_vision_models_are_refused_with_the_entrys_name() -> None:
    with pytest.raises(ConfigError, match="myspace: a gradio app draws images"):
        space("https://x.test", vision_models={"v": "/chat"})


# --- jobs -------------------------------------------------------------------------------------


async def test_plain_job(app: FakeGradio, context: ProviderContext) -> None:
    provider = space(app.url)
    events = await run(provider, context, ImageRequest("a fox in the snow"))
    assert [type(e) for e in events] == [Progress, ImageResponse]
    queued, result = events
    assert isinstance(queued, Progress) and queued.stage == Stage.QUEUED
    assert isinstance(result, ImageResponse)
    assert result.alt == "a fox in the snow" and result.model == "/infer"
    assert posted(app) == {
        "prompt": "a fox in the snow",
        "seed": 42,
        "randomize_seed": True,
        "width": 1024,
        "height": 1024,
        "num_inference_steps": 4,
        "style": "photo",
    }
    assert isinstance(result.seed, int)
    [url] = result.images
    assert isinstance(url, str)
    picture = Image.open(io.BytesIO(await context.http.read(url, provider="t")))
    assert picture.format == "WEBP"
    [event_id] = app.jobs
    assert app.gets == {event_id: 1}


async def test_seed_ratio_and_steps_reach_the_app(
    app: FakeGradio, context: ProviderContext
) -> None:
    request = ImageRequest("a fox", seed=1234, aspect_ratio="16:9", steps=8, cfg=5.0)
    result = (await run(space(app.url), context, request))[-1]
    assert isinstance(result, ImageResponse) and result.seed == 1234
    values = posted(app)
    assert (values["seed"], values["randomize_seed"]) == (1234, False)
    assert (values["width"], values["height"], values["num_inference_steps"]) == (1344, 768, 8)


async def test_info_is_read_once_per_provider(app: FakeGradio, context: ProviderContext) -> None:
    provider = space(app.url)
    for _ in range(3):
        await run(provider, context, ImageRequest("a fox"))
    assert len(app.seen("/gradio_api/info")) == 1
    assert len(app.jobs) == 3
    await run(space(app.url), context, ImageRequest("a fox"))  # another instance asks again
    assert len(app.seen("/gradio_api/info")) == 2


async def test_a_rejected_job_makes_the_next_one_read_the_info_again(
    app: FakeGradio, context: ProviderContext
) -> None:
    provider = space(app.url)
    await run(provider, context, ImageRequest("a fox"))
    # The Space is redeployed with one more input: our data no longer fits.
    app.endpoints["/infer"] = [*app.endpoints["/infer"], Param("scheduler", "Dropdown", "euler")]
    app.outcome = "complete"
    stale = await _failing(provider, context)
    assert isinstance(stale, ResponseError) and "wrong inputs" in str(stale)
    result = (await run(provider, context, ImageRequest("a fox")))[-1]
    assert isinstance(result, ImageResponse)
    assert len(app.seen("/gradio_api/info")) == 2
    assert list(app.jobs.values())[-1].values["scheduler"] == "euler"  # type: ignore[attr-defined]


async def _failing(provider: GradioSpace, context: ProviderContext) -> Exception:
    with pytest.raises(Exception) as caught:
        await run(provider, context, ImageRequest("a fox"))
    return caught.value


async def test_previews_then_the_picture(app: FakeGradio, context: ProviderContext) -> None:
    app.previews, app.heartbeats = 2, 3
    events = await run(space(app.url), context, ImageRequest("a fox"))
    assert [type(e) for e in events] == [
        Progress,
        Progress,
        ImagePreview,
        ImagePreview,
        ImageResponse,
    ]
    assert [e.stage for e in events if isinstance(e, Progress)] == [Stage.QUEUED, Stage.GENERATING]


async def test_bearer_token_on_every_request(app: FakeGradio, context: ProviderContext) -> None:
    await run(space(app.url, key="hf_secret"), context, ImageRequest("a fox"))
    assert app.authorizations == ["Bearer hf_secret"] * 3  # info, call, stream


async def test_a_private_spaces_picture_is_fetched_with_the_token(
    app: FakeGradio, context: ProviderContext
) -> None:
    app.private = "hf_secret"
    result = (await run(space(app.url, key="hf_secret"), context, ImageRequest("a fox")))[-1]
    assert isinstance(result, ImageResponse)
    assert result.images == [app.image]
    [download] = app.seen("/gradio_api/file=")
    assert download.headers["Authorization"] == "Bearer hf_secret"


async def test_no_key_no_authorization(app: FakeGradio, context: ProviderContext) -> None:
    await run(space(app.url), context, ImageRequest("a fox"))
    assert app.authorizations == [None, None, None]


async def test_a_trailing_slash_in_the_base_url(tmp_path: Path) -> None:
    async with FakeGradio() as app, provider_context(tmp_path) as ctx:
        result = (await run(space(f"{app.url}/"), ctx, ImageRequest("a fox")))[-1]
        assert isinstance(result, ImageResponse)
        assert app.seen("/gradio_api/call/infer")[0].path == "/gradio_api/call/infer"


# --- what the app cannot do -------------------------------------------------------------------


async def test_an_endpoint_that_needs_a_picture_sends_no_job(
    app: FakeGradio, context: ProviderContext
) -> None:
    with pytest.raises(ResponseError, match="needs the input 'Image'") as caught:
        await run(space(app.url), context, ImageRequest("a fox"), api="/edit")
    assert caught.value.user_message.startswith("myspace: /edit needs the input")
    assert app.jobs == {}


async def test_an_endpoint_the_app_lacks(app: FakeGradio, context: ProviderContext) -> None:
    app.endpoints = {"/generate": app.endpoints["/infer"]}
    with pytest.raises(ResponseError, match=r"has no endpoint /infer \(it has: /generate\)"):
        await run(space(app.url), context, ImageRequest("a fox"))
    assert app.jobs == {}


async def test_steps_outside_the_apps_slider_send_no_job(
    app: FakeGradio, context: ProviderContext
) -> None:
    with pytest.raises(InvalidOption, match="takes steps from 1 to 12"):
        await run(space(app.url), context, ImageRequest("a fox", steps=30))
    assert app.jobs == {}


async def test_info_that_is_not_there(context: ProviderContext) -> None:
    async with FakeGradio() as app:
        url = app.url
    with pytest.raises(ProviderUnavailable, match="cannot be reached"):
        await run(space(url), context, ImageRequest("a fox"))


# --- the stream: the same rules as SD 3.5 (one shared implementation) ----------------------


async def test_quota_error_is_rate_limited(app: FakeGradio, context: ProviderContext) -> None:
    app.outcome = "error"
    app.error_message = "You have exceeded your GPU quota (60s left). Try again in 0:02:00"
    with pytest.raises(RateLimited, match="exceeded your GPU quota") as caught:
        await run(space(app.url), context, ImageRequest("a fox"))
    assert caught.value.retry_after == 120
    assert caught.value.user_message.startswith("myspace: is out of GPU quota")


@pytest.mark.parametrize(
    ("outcome", "error", "message"),
    [
        ("error_null", ResponseError, "wrong inputs or an error in the Space"),
        ("not_found", ResponseError, "404: Not Found"),
        ("no_file", ResponseError, "without an image"),
        ("garbage", ResponseError, "could not read"),
        ("end", ProviderUnavailable, "ended the stream"),
        ("cut", ProviderUnavailable, "cut the connection"),
    ],
)
async def test_stream_failures(
    app: FakeGradio,
    context: ProviderContext,
    outcome: Any,
    error: type[Exception],
    message: str,
) -> None:
    app.outcome = outcome
    with pytest.raises(error, match=re.escape(message)):
        await run(space(app.url), context, ImageRequest("a fox"))
    assert list(app.gets.values()) == [1]


@pytest.mark.parametrize("line_ending", ["\r\n", "\r"])
async def test_stream_split_mid_line(
    app: FakeGradio, context: ProviderContext, line_ending: str
) -> None:
    app.chunk_size, app.line_ending, app.previews = 2, line_ending, 1
    result = (await run(space(app.url), context, ImageRequest("a fox", seed=9)))[-1]
    assert isinstance(result, ImageResponse) and result.seed == 9


async def test_silent_stream_times_out_without_a_second_get(
    app: FakeGradio, tmp_path: Path
) -> None:
    app.outcome = "silent"
    async with provider_context(tmp_path, read_timeout=0.3) as ctx:
        with pytest.raises(ProviderTimeout, match=r"sent nothing for 0\.3 seconds"):
            await run(space(app.url), ctx, ImageRequest("a fox"))
    assert list(app.gets.values()) == [1]


async def test_jobs_share_one_connection(app: FakeGradio, context: ProviderContext) -> None:
    provider = space(app.url)
    for _ in range(3):
        await run(provider, context, ImageRequest("a fox"))
    assert app.connections == 1


# --- the operator's CLI (in process; tests/providers/test_gradio_real.py runs the real one) ---


def providers_file(tmp_path: Path, body: str) -> ProviderSettings:
    toml = tmp_path / "providers.toml"
    toml.write_text(body)
    return ProviderSettings(_env_file=None, data_dir=tmp_path, providers_file=toml)  # type: ignore[call-arg]


def entry_for(url: str) -> str:
    return (
        f'[[provider]]\nname = "myspace"\ntype = "gradio"\nbase_url = "{url}"\n'
        'image_models = { flux-dev = "/infer" }\n'
    )


async def test_cli_lists_draws_and_fails_with_the_right_codes(
    app: FakeGradio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = providers_file(tmp_path, entry_for(app.url))
    out = io.StringIO()
    assert await cli.run(["models", "--kind", "image"], settings, out) == 0
    assert "myspace/flux-dev" in out.getvalue().split()

    out = io.StringIO()
    target = tmp_path / "out"
    argv = ["imagine", "a fox", "--model", "flux-dev", "--seed", "5", "-o", str(target)]
    assert await cli.run(argv, settings, out) == 0
    [saved] = [Path(line) for line in out.getvalue().splitlines()]
    assert saved.read_bytes() == app.image
    assert "seed: 5" in capsys.readouterr().err

    app.outcome = "error"
    assert await cli.run(argv, settings, io.StringIO()) == 1
    assert "myspace: is out of GPU quota" in capsys.readouterr().err


async def test_cli_refuses_a_gradio_entry_without_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = '[[provider]]\nname = "myspace"\ntype = "gradio"\nimage_models = ["/infer"]\n'
    assert await cli.run(["models"], providers_file(tmp_path, body)) == 2
    assert "entry 'myspace': a gradio entry needs base_url" in capsys.readouterr().err
