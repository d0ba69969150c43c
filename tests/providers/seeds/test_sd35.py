"""SD 3.5 Large against a loopback Gradio Space, plus request-shape checks with aioresponses."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from PIL import Image
from yarl import URL

from providers import (
    Event,
    ImagePreview,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Progress,
    ProviderContext,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    Stage,
    UnknownModel,
    generate_images,
)
from providers.core.types import Message
from providers.seeds.sd35 import StabilityAI_SD35Large, image_size
from tests.fakes.sd35 import FakeSD35
from tests.helpers import MockResponse, provider_context

SD = StabilityAI_SD35Large
PROMPT: list[Message] = [{"role": "user", "content": "a cat wearing a hat"}]
EMPTY: list[Message] = [{"role": "user", "content": ""}]
GOOD_DATA: list[Any] = ["p", "", 0, True, 1024, 1024, 4.5, 50]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSD35]:
    async with FakeSD35() as server:
        yield server


@pytest.fixture
async def context(tmp_path: Path, fake: FakeSD35) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path, sd35_space_url=fake.url) as ctx:
        yield ctx


async def run(context: ProviderContext, **kwargs: Any) -> list[Event]:
    return [
        event async for event in SD.create_async_generator("", PROMPT, context=context, **kwargs)
    ]


def posted(fake: FakeSD35) -> list[Any]:
    """The data list of the single POST the fake received."""
    [job] = fake.jobs.values()
    return job.data


# --- class attributes, model names, options -------------------------------------------------


def test_catalog_and_model_names() -> None:
    assert SD.catalog() == [("sd-3.5", "stabilityai-stable-diffusion-3-5-large")]
    assert SD.models == SD.image_models == [SD.default_model]
    for name in ("sd-3.5", "SD-3.5", "stabilityai-stable-diffusion-3-5-large", ""):
        assert SD.get_model(name) == SD.default_model == SD.default_image_model
    with pytest.raises(UnknownModel):
        SD.get_model("sd-1.5")
    registry = Registry([SD])
    assert [entry.id for entry in registry.entries] == ["sd35/sd-3.5"]
    assert registry.resolve("sd-3.5").upstream == SD.default_model


def test_image_kwargs_maps_the_request_and_leaves_out_unset_values() -> None:
    assert SD.image_kwargs(ImageRequest("a fox")) == {"prompt": "a fox"}
    request = ImageRequest(
        "a fox", negative_prompt="blur", seed=7, aspect_ratio="16:9", steps=28, cfg=3.5
    )
    assert SD.image_kwargs(request) == {
        "prompt": "a fox",
        "negative_prompt": "blur",
        "seed": 7,
        "randomize_seed": False,
        "aspect_ratio": "16:9",
        "num_inference_steps": 28,
        "guidance_scale": 3.5,
    }


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("1:1", (1024, 1024)),
        ("16:9", (1344, 768)),
        ("9:16", (768, 1344)),
        ("4:3", (1152, 896)),
        ("3:4", (896, 1152)),
        ("3:2", (1280, 832)),
        ("2:3", (832, 1280)),
        ("21:9", (1408, 640)),
        ("9:21", (640, 1408)),
        ("10:1", (1408, 512)),
    ],
)
def test_aspect_ratio_sizes_fit_the_sliders(ratio: str, size: tuple[int, int]) -> None:
    assert image_size(ratio, None, None) == size


def test_every_advertised_aspect_ratio_is_kept_within_the_sliders() -> None:
    for ratio in SD.options.aspect_ratios:
        width, height = image_size(ratio, None, None)
        assert min(width, height) >= 512 and max(width, height) <= 1440
        wanted = int(ratio.split(":")[0]) / int(ratio.split(":")[1])
        assert abs(width / height / wanted - 1) < 0.1, ratio


def test_explicit_sizes_override_and_are_clamped() -> None:
    assert image_size("16:9", 800, None) == (800, 768)
    assert image_size("1:1", 4000, 100) == (1440, 512)
    assert image_size("1:1", 1000, 1000) == (992, 992)


@pytest.mark.parametrize("ratio", ["square", "16-9", "1:0", ":", ""])
def test_malformed_aspect_ratio_is_an_invalid_option(ratio: str) -> None:
    with pytest.raises(InvalidOption):
        image_size(ratio, None, None)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            [{"path": "/tmp/a.webp", "url": "https://x.test/a.webp"}, 7],
            ("https://x.test/a.webp", 7),
        ),
        (
            [{"path": "/tmp/a.webp", "url": None}, 7.0],
            ("https://s.test/gradio_api/file=/tmp/a.webp", 7),
        ),
        (["/tmp/a.webp", "7"], ("https://s.test/gradio_api/file=/tmp/a.webp", None)),
        (["https://x.test/a.webp"], ("https://x.test/a.webp", None)),
        ({"url": "https://x.test/a.webp"}, ("https://x.test/a.webp", None)),
    ],
)
def test_result_shapes(data: Any, expected: tuple[str, int | None]) -> None:
    assert SD._result(json.dumps(data), "https://s.test") == expected


@pytest.mark.parametrize("data", ['"oops"', "[null, 1]", "[]", '[{"path": ""}]', "[true]"])
def test_result_without_an_image(data: str) -> None:
    with pytest.raises(ResponseError, match="without an image"):
        SD._result(data, "https://s.test")


# --- jobs over the loopback Space -----------------------------------------------------------


async def test_plain_job(context: ProviderContext, fake: FakeSD35) -> None:
    events = await run(context)
    assert [type(event) for event in events] == [Progress, ImageResponse]
    queued, result = events
    assert isinstance(queued, Progress) and queued.stage == Stage.QUEUED
    [event_id] = fake.jobs
    assert queued.job_id == event_id
    assert isinstance(result, ImageResponse)
    assert result.alt == "a cat wearing a hat"
    assert result.model == SD.default_model
    data = posted(fake)
    assert data == ["a cat wearing a hat", "", 0, True, 1024, 1024, 4.5, 50]
    assert isinstance(result.seed, int)
    [url] = result.images
    assert isinstance(url, str)
    body = await context.http.read(url, provider=SD.label)
    assert Image.open(io.BytesIO(body)).format == "WEBP"
    assert fake.gets == {event_id: 1}


async def test_previews_come_before_the_result(context: ProviderContext, fake: FakeSD35) -> None:
    fake.previews = 3
    events = await run(context)
    assert [type(event) for event in events] == [
        Progress,
        Progress,
        ImagePreview,
        ImagePreview,
        ImagePreview,
        ImageResponse,
    ]
    assert [e.stage for e in events if isinstance(e, Progress)] == [Stage.QUEUED, Stage.GENERATING]
    previews = [e.images[0] for e in events if isinstance(e, ImagePreview)]
    assert [str(p).rsplit("/", 1)[1] for p in previews] == [f"preview_{i}.webp" for i in range(3)]


async def test_heartbeats_are_ignored(context: ProviderContext, fake: FakeSD35) -> None:
    fake.heartbeats = 5
    events = await run(context)
    assert [type(event) for event in events] == [Progress, ImageResponse]


@pytest.mark.parametrize("line_ending", ["\r\n", "\r", "\n"])
async def test_stream_split_mid_line(
    context: ProviderContext, fake: FakeSD35, line_ending: str
) -> None:
    fake.chunk_size, fake.line_ending = 3, line_ending
    fake.heartbeats, fake.previews = 2, 2
    events = await run(context)
    assert [type(event) for event in events][-3:] == [ImagePreview, ImagePreview, ImageResponse]
    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert str(result.images[0]).endswith("/image.webp")


async def test_path_only_file_gets_a_space_url(context: ProviderContext, fake: FakeSD35) -> None:
    fake.url_in_file = False
    result = (await run(context))[-1]
    assert isinstance(result, ImageResponse)
    [url] = result.images
    assert isinstance(url, str)
    assert re.fullmatch(rf"{fake.url}/gradio_api/file=/tmp/gradio/[0-9a-f]{{32}}/image\.webp", url)
    assert Image.open(io.BytesIO(await context.http.read(url, provider=SD.label))).format == "WEBP"


async def test_seed_given_turns_randomize_off_and_comes_back(
    context: ProviderContext, fake: FakeSD35
) -> None:
    events = await run(context, seed=424242, randomize_seed=False)
    assert posted(fake)[2:4] == [424242, False]
    result = events[-1]
    assert isinstance(result, ImageResponse) and result.seed == 424242


async def test_request_through_the_library_api(context: ProviderContext, fake: FakeSD35) -> None:
    entry = Registry([SD]).resolve("sd35/sd-3.5")
    request = ImageRequest(
        "a fox", negative_prompt="blur", seed=5, aspect_ratio="9:16", steps=20, cfg=3.0
    )
    events = [event async for event in generate_images(entry, request, context)]
    assert posted(fake) == ["a fox", "blur", 5, False, 768, 1344, 3.0, 20]
    result = events[-1]
    assert isinstance(result, ImageResponse) and result.seed == 5


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({"aspect_ratio": "16:9"}, [1344, 768]),
        ({"aspect_ratio": "2:3"}, [832, 1280]),
        ({"aspect_ratio": "1:1", "width": 700, "height": 5000}, [704, 1440]),
    ],
)
async def test_size_in_the_posted_data(
    context: ProviderContext, fake: FakeSD35, kwargs: dict[str, Any], size: list[int]
) -> None:
    await run(context, **kwargs)
    assert posted(fake)[4:6] == size


async def test_bearer_token_from_settings(tmp_path: Path, fake: FakeSD35) -> None:
    async with provider_context(tmp_path, sd35_space_url=fake.url, hf_token="hf_secret") as ctx:
        await run(ctx)
    assert fake.authorizations == ["Bearer hf_secret", "Bearer hf_secret"]


async def test_api_key_wins_over_settings(tmp_path: Path, fake: FakeSD35) -> None:
    async with provider_context(tmp_path, sd35_space_url=fake.url, hf_token="hf_secret") as ctx:
        await run(ctx, api_key="hf_other")
    assert fake.authorizations == ["Bearer hf_other", "Bearer hf_other"]


async def test_no_token_no_authorization(context: ProviderContext, fake: FakeSD35) -> None:
    await run(context)
    assert fake.authorizations == [None, None]


# --- failures -------------------------------------------------------------------------------


async def test_quota_error_is_rate_limited(context: ProviderContext, fake: FakeSD35) -> None:
    fake.outcome = "error"
    fake.error_message = (
        "You have exceeded your GPU quota (60s requested vs. 3s left). Try again in 0:01:05"
    )
    with pytest.raises(RateLimited) as caught:
        await run(context)
    assert "exceeded your GPU quota" in str(caught.value)
    assert caught.value.retry_after == 65
    assert caught.value.user_message.startswith("StabilityAI SD 3.5 Large: ")


async def test_quota_error_split_inside_utf8(context: ProviderContext, fake: FakeSD35) -> None:
    fake.outcome, fake.chunk_size, fake.line_ending = "error", 1, "\r\n"
    fake.error_message = "GPU quota exceeded — квота исчерпана"
    with pytest.raises(RateLimited, match="GPU quota exceeded — квота исчерпана") as caught:
        await run(context)
    assert caught.value.retry_after is None


async def test_other_error_carries_the_message(context: ProviderContext, fake: FakeSD35) -> None:
    fake.outcome, fake.error_title = "error", "Error"
    fake.error_message = "CUDA out of memory"
    with pytest.raises(ResponseError, match="failed: CUDA out of memory"):
        await run(context)


async def test_error_null(context: ProviderContext, fake: FakeSD35) -> None:
    fake.outcome = "error_null"
    with pytest.raises(ResponseError, match=re.escape("failed (wrong inputs or an error")):
        await run(context)


async def test_not_found_string_then_cut(context: ProviderContext, fake: FakeSD35) -> None:
    fake.outcome = "not_found"
    with pytest.raises(ResponseError, match="404: Not Found") as caught:
        await run(context)
    assert type(caught.value) is ResponseError


@pytest.mark.parametrize(
    ("outcome", "message"),
    [("no_file", "without an image"), ("garbage", "could not read")],
)
async def test_unreadable_result(
    context: ProviderContext, fake: FakeSD35, outcome: Any, message: str
) -> None:
    fake.outcome = outcome
    with pytest.raises(ResponseError, match=message):
        await run(context)


@pytest.mark.parametrize(
    ("outcome", "message"),
    [("end", "ended the stream"), ("cut", "cut the connection")],
)
async def test_stream_without_a_result(
    context: ProviderContext, fake: FakeSD35, outcome: Any, message: str
) -> None:
    fake.outcome, fake.previews = outcome, 1
    events: list[Event] = []
    with pytest.raises(ProviderUnavailable, match=message):
        async for event in SD.create_async_generator("", PROMPT, context=context):
            events.append(event)
    assert isinstance(events[-1], ImagePreview)


@pytest.mark.parametrize("outcome", ["silent", "heartbeats"])
async def test_quiet_stream_times_out(tmp_path: Path, fake: FakeSD35, outcome: Any) -> None:
    # "heartbeats": one at once, the next only after the real Space's 15 seconds.
    fake.outcome = outcome
    async with provider_context(tmp_path, sd35_space_url=fake.url, read_timeout=0.3) as ctx:
        with pytest.raises(ProviderTimeout, match=r"sent nothing for 0\.3 seconds"):
            await run(ctx)
    assert list(fake.gets.values()) == [1]


async def test_endless_heartbeats_hit_the_job_deadline(tmp_path: Path, fake: FakeSD35) -> None:
    fake.outcome, fake.heartbeat_interval = "heartbeats", 0.01
    entry = Registry([SD]).resolve("sd-3.5")
    async with provider_context(
        tmp_path, sd35_space_url=fake.url, read_timeout=0.2, job_timeout=0.6
    ) as ctx:
        with pytest.raises(ProviderTimeout, match="did not finish within"):
            async for _ in generate_images(entry, ImageRequest("a cat"), ctx):
                pass
    assert list(fake.gets.values()) == [1]


async def test_422_is_a_response_error(context: ProviderContext, fake: FakeSD35) -> None:
    bad: dict[str, Any] = {"guidance_scale": "high"}
    with pytest.raises(ResponseError, match="HTTP 422"):
        await run(context, **bad)
    assert fake.jobs == {}


async def test_missing_event_id(context: ProviderContext, fake: FakeSD35) -> None:
    fake.omit_event_id = True
    with pytest.raises(ResponseError, match="event_id"):
        await run(context)
    assert fake.seen("/gradio_api/call/infer/") == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"aspect_ratio": "wide"}, InvalidOption),
        ({"prompt": " "}, InvalidOption),
    ],
)
async def test_bad_input_sends_nothing(
    tmp_path: Path, fake: FakeSD35, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    async with provider_context(tmp_path, sd35_space_url=fake.url) as ctx:
        with pytest.raises(error):
            events = SD.create_async_generator(
                "", [{"role": "user", "content": ""}], context=ctx, **kwargs
            )
            await anext(events)
    assert fake.requests == []


async def test_unknown_model_sends_nothing(context: ProviderContext, fake: FakeSD35) -> None:
    with pytest.raises(UnknownModel):
        await anext(SD.create_async_generator("sdxl", PROMPT, context=context))
    assert fake.requests == []


# --- the pool and the one-GET rule ----------------------------------------------------------


async def test_sequential_jobs_share_one_connection(
    context: ProviderContext, fake: FakeSD35
) -> None:
    fake.previews = 1
    for _ in range(4):
        await run(context)
    assert len(fake.jobs) == 4
    assert sorted(fake.gets.values()) == [1, 1, 1, 1]
    assert fake.connections == 1


async def test_stream_ending_after_the_result_is_read_so_the_connection_is_reused(
    context: ProviderContext, fake: FakeSD35
) -> None:
    fake.end_gate = asyncio.Event()
    stream = SD.create_async_generator("", PROMPT, context=context)
    async for event in stream:
        if isinstance(event, ImageResponse):
            # The Space ends the stream only now, after the consumer has the result.
            fake.end_gate.set()
    await run(context)
    assert fake.connections == 1


async def test_job_abandoned_mid_stream_leaves_the_pool_usable(
    context: ProviderContext, fake: FakeSD35
) -> None:
    fake.outcome, fake.previews = "silent", 1
    stream = SD.create_async_generator("", PROMPT, context=context)
    async for event in stream:
        if isinstance(event, ImagePreview):
            break
    await stream.aclose()
    fake.outcome = "complete"
    assert isinstance((await run(context))[-1], ImageResponse)
    assert sorted(fake.gets.values()) == [1, 1]


# --- the fake itself speaks Gradio's protocol -----------------------------------------------


async def test_fake_rejects_malformed_bodies(fake: FakeSD35) -> None:
    endpoint = f"{fake.url}/gradio_api/call/infer"
    good = GOOD_DATA
    async with aiohttp.ClientSession() as session:
        for body in ({"nodata": 1}, {"data": good[:7]}, {"data": [*good[:7], "50"]}):
            async with session.post(endpoint, json=body) as response:
                assert response.status == 422
                detail = (await response.json())["detail"]
                assert detail[0]["loc"][:2] == ["body", "data"]
        async with session.post(endpoint, json={"data": good}) as response:
            event_id = (await response.json())["event_id"]
        assert re.fullmatch("[0-9a-f]{32}", event_id)


async def test_fake_sends_only_heartbeats_to_a_second_get(fake: FakeSD35) -> None:
    endpoint = f"{fake.url}/gradio_api/call/infer"
    fake.heartbeat_interval = 0.01
    async with aiohttp.ClientSession() as session:
        async with session.post(
            endpoint, json={"data": ["p", "", 0, True, 1024, 1024, 4.5, 50]}
        ) as r:
            event_id = (await r.json())["event_id"]
        async with session.get(f"{endpoint}/{event_id}") as first:
            assert first.headers["Content-Type"].startswith("text/event-stream")
            assert b"event: complete" in await first.read()
        async with session.get(f"{endpoint}/{event_id}") as second:
            seen = b""
            while seen.count(b"event: heartbeat") < 3:
                seen += await second.content.readany()
            assert b"complete" not in seen
    assert fake.gets == {event_id: 2}


# --- request shape, without a server --------------------------------------------------------

SPACE = "https://space.test"


async def test_request_shape(tmp_path: Path) -> None:
    event_id = "ab" * 16
    stream = "event: complete\ndata: " + json.dumps([{"path": "/tmp/x.webp"}, 99]) + "\n\n"
    async with provider_context(tmp_path, sd35_space_url=SPACE + "/", hf_token="hf_t") as ctx:
        with aioresponses() as mocked:
            mocked.post(
                f"{SPACE}/gradio_api/call/infer",
                payload={"event_id": event_id},
                response_class=MockResponse,
            )
            mocked.get(
                f"{SPACE}/gradio_api/call/infer/{event_id}",
                body=stream,
                content_type="text/event-stream",
                response_class=MockResponse,
            )
            events = await run(
                ctx,
                prompt="explicit prompt",
                negative_prompt="ugly",
                aspect_ratio="3:2",
                guidance_scale=6.0,
                num_inference_steps=30,
                seed=3,
                randomize_seed=False,
                proxy="http://proxy.test:3128",
            )
            [post] = mocked.requests[("POST", URL(f"{SPACE}/gradio_api/call/infer"))]
            [get] = mocked.requests[("GET", URL(f"{SPACE}/gradio_api/call/infer/{event_id}"))]
    assert post.kwargs["json"] == {
        "data": ["explicit prompt", "ugly", 3, False, 1280, 832, 6.0, 30]
    }
    assert post.kwargs["headers"]["Authorization"] == "Bearer hf_t"
    assert get.kwargs["headers"]["Authorization"] == "Bearer hf_t"
    assert post.kwargs["proxy"] == get.kwargs["proxy"] == "http://proxy.test:3128"
    assert get.kwargs["headers"]["Accept"] == "text/event-stream"
    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert result.images == [f"{SPACE}/gradio_api/file=/tmp/x.webp"]
    assert result.alt == "explicit prompt" and result.seed == 99
