"""Prodia against a loopback fake of its job API, plus request-shape checks with aioresponses."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses

from providers import (
    Event,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Progress,
    ProviderContext,
    ProviderSettings,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    Stage,
    UnknownModel,
    generate_images,
)
from providers.core.media import sniff_image_type
from providers.core.types import Message
from providers.seeds.prodia import CHECKPOINTS, Prodia, checkpoint_alias, derive_aliases
from tests.fakes.prodia import FakeProdia, malformed_json, without_job
from tests.helpers import MockResponse, provider_context

PROMPT: list[Message] = [{"role": "user", "content": "a lighthouse at dusk"}]
DEFAULT = "absolutereality_v181.safetensors [3d9d4d2b]"


@pytest.fixture
async def fake() -> AsyncIterator[FakeProdia]:
    async with FakeProdia() as server:
        yield server


@pytest.fixture
async def context(tmp_path: Path, fake: FakeProdia) -> AsyncIterator[ProviderContext]:
    async with provider_context(
        tmp_path, prodia_api_url=fake.url, prodia_image_url=fake.url
    ) as ctx:
        yield ctx


async def run(context: ProviderContext, model: str = DEFAULT, **kwargs: Any) -> list[Event]:
    return [
        event
        async for event in Prodia.create_async_generator(model, PROMPT, context=context, **kwargs)
    ]


# --- the happy path -------------------------------------------------------------------------


async def test_queue_progress_done(fake: FakeProdia, context: ProviderContext) -> None:
    fake.queued_polls = 2
    fake.generating_polls = 3
    events = await run(
        context,
        "dreamshaper_8",
        negative_prompt="fog",
        steps=12,
        cfg=6.5,
        seed=42,
        sampler="Euler a",
        aspect_ratio="portrait",
    )

    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.stage for p in progress] == [Stage.SUBMITTED, Stage.QUEUED, Stage.GENERATING]
    assert isinstance(events[-1], ImageResponse)
    assert events[:-1] == progress
    elapsed = [p.elapsed for p in progress]
    assert all(e is not None for e in elapsed)
    assert elapsed == sorted(elapsed)  # type: ignore[type-var]

    (job_id,) = fake.jobs
    assert {p.job_id for p in progress} == {job_id}
    # 2 queued + 3 generating + 1 succeeded polls, but one event per status change only.
    assert len(fake.seen("/job/")) == 6

    result = events[-1]
    assert result.images == [f"{fake.url}/{job_id}.png"]
    assert result.alt == "a lighthouse at dusk"
    assert result.seed == 42
    assert result.model == "dreamshaper_8.safetensors [9d40847d]"

    assert fake.seen("/generate")[0].query == {
        "new": "true",
        "prompt": "a lighthouse at dusk",
        "model": "dreamshaper_8.safetensors [9d40847d]",
        "negative_prompt": "fog",
        "steps": "12",
        "cfg": "6.5",
        "seed": "42",
        "sampler": "Euler a",
        "aspect_ratio": "portrait",
    }

    image = await context.http.read(str(result.images[0]), provider="test")
    assert sniff_image_type(image) == "image/png"


async def test_defaults_and_random_seed(fake: FakeProdia, context: ProviderContext) -> None:
    events = await run(context, "")
    result = events[-1]
    assert isinstance(result, ImageResponse)
    query = fake.seen("/generate")[0].query
    assert query["model"] == DEFAULT
    assert (query["steps"], query["cfg"], query["sampler"], query["aspect_ratio"]) == (
        "20",
        "7",
        "DPM++ 2M Karras",
        "square",
    )
    assert query["negative_prompt"] == ""
    assert result.seed is not None
    assert query["seed"] == str(result.seed)


async def test_job_that_finishes_at_once_yields_no_queue_events(
    fake: FakeProdia, context: ProviderContext
) -> None:
    fake.queued_polls = 0
    fake.generating_polls = 0
    events = await run(context)
    assert [type(e) for e in events] == [Progress, ImageResponse]
    assert len(fake.seen("/job/")) == 1


async def test_unknown_status_keeps_polling_without_events(
    fake: FakeProdia, context: ProviderContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses = iter(["queued", "processing", "processing", "succeeded"])
    monkeypatch.setattr(fake, "_status", lambda job: next(statuses))
    events = await run(context)
    assert [e.stage for e in events if isinstance(e, Progress)] == [Stage.SUBMITTED, Stage.QUEUED]
    assert isinstance(events[-1], ImageResponse)


# --- failures -------------------------------------------------------------------------------


async def test_failed_job_raises_response_error(fake: FakeProdia, context: ProviderContext) -> None:
    fake.fail_next_job = True
    with pytest.raises(ResponseError, match="image generation failed") as info:
        await run(context)
    assert info.value.provider == "Prodia"
    # The knob is one-shot: the next job succeeds.
    assert isinstance((await run(context))[-1], ImageResponse)


async def test_never_finishing_job_times_out_after_max_attempts(
    fake: FakeProdia, context: ProviderContext
) -> None:
    fake.never_finish = True
    seen: list[Event] = []
    with pytest.raises(ProviderTimeout):
        async for event in Prodia.create_async_generator(
            DEFAULT, PROMPT, context=context, max_attempts=4, delay=0
        ):
            seen.append(event)
    assert len(fake.seen("/job/")) == 4
    assert [e.stage for e in seen if isinstance(e, Progress)] == [
        Stage.SUBMITTED,
        Stage.QUEUED,
        Stage.GENERATING,
    ]


async def test_closing_the_stream_stops_polling(fake: FakeProdia, context: ProviderContext) -> None:
    fake.never_finish = True
    stream = Prodia.create_async_generator(DEFAULT, PROMPT, context=context, delay=0)
    async for event in stream:
        if isinstance(event, Progress) and event.stage == Stage.QUEUED:
            break
    await stream.aclose()
    polls = len(fake.seen("/job/"))
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert len(fake.seen("/job/")) == polls == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
        (429, RateLimited),
        (400, ResponseError),
    ],
)
async def test_generate_http_errors(
    fake: FakeProdia, context: ProviderContext, status: int, error: type[Exception]
) -> None:
    fake.generate_status = status
    fake.retry_after = "7"
    with pytest.raises(error) as info:
        await run(context)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == 7.0
    assert not fake.seen("/job/")


@pytest.mark.parametrize("body", [malformed_json(), without_job(), b'{"job": ""}', b"[1, 2]"])
async def test_generate_unreadable_answers(
    fake: FakeProdia, context: ProviderContext, body: bytes
) -> None:
    fake.generate_body = body
    with pytest.raises(ResponseError):
        await run(context)
    assert not fake.seen("/job/")


async def test_transient_poll_error_is_waited_out(
    fake: FakeProdia, context: ProviderContext
) -> None:
    fake.job_statuses = [502, 429]
    events = await run(context)
    assert isinstance(events[-1], ImageResponse)


async def test_persistent_poll_errors_surface(fake: FakeProdia, context: ProviderContext) -> None:
    fake.job_statuses = [500, 500, 500, 500]
    with pytest.raises(ProviderUnavailable):
        await run(context)
    assert len(fake.seen("/job/")) == 3


async def test_poll_error_on_last_attempt_surfaces(
    fake: FakeProdia, context: ProviderContext
) -> None:
    fake.never_finish = True
    fake.queued_polls = 0
    with pytest.raises(ProviderUnavailable):
        async for event in Prodia.create_async_generator(
            DEFAULT, PROMPT, context=context, max_attempts=2
        ):
            if isinstance(event, Progress) and event.stage == Stage.GENERATING:
                fake.job_statuses = [500]


async def test_poll_answer_without_status(
    fake: FakeProdia, context: ProviderContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "_status", lambda job: "")
    with pytest.raises(ResponseError, match="no status"):
        await run(context)


async def test_unreachable_upstream(tmp_path: Path) -> None:
    server = FakeProdia()
    url = await server.start()
    await server.stop()
    async with provider_context(tmp_path, prodia_api_url=url) as context:
        with pytest.raises(ProviderUnavailable):
            await run(context)


# --- options and models ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("sampler", "Euler b", "sampler"),
        ("sampler", "euler", "sampler"),
        ("aspect_ratio", "wide", "aspect ratio"),
        ("aspect_ratio", "1:1", "aspect ratio"),
        ("steps", 0, "Steps"),
        ("steps", 26, "Steps"),
        ("steps", 2.5, "Steps"),
        ("cfg", -1, "Guidance"),
        ("cfg", 20.5, "Guidance"),
    ],
)
async def test_invalid_options(
    fake: FakeProdia, context: ProviderContext, option: str, value: object, message: str
) -> None:
    kwargs: dict[str, Any] = {option: value}
    with pytest.raises(InvalidOption, match=message):
        await run(context, **kwargs)
    assert fake.requests == []


async def test_empty_prompt_is_refused(fake: FakeProdia, context: ProviderContext) -> None:
    with pytest.raises(InvalidOption, match="empty"):
        async for _ in Prodia.create_async_generator(
            DEFAULT, [{"role": "user", "content": "   "}], context=context
        ):
            pass
    assert fake.requests == []


async def test_unknown_model_is_refused(fake: FakeProdia, context: ProviderContext) -> None:
    with pytest.raises(UnknownModel):
        await run(context, "absolutereality_v999")
    assert fake.requests == []


def test_checkpoint_list() -> None:
    assert len(CHECKPOINTS) == len(set(CHECKPOINTS)) == 65
    assert Prodia.models == Prodia.image_models == list(CHECKPOINTS)
    assert Prodia.default_model == Prodia.default_image_model == DEFAULT
    assert DEFAULT in Prodia.models


def test_aliases_are_derived_from_file_stems() -> None:
    aliases = Prodia.model_aliases
    assert aliases["absolutereality_v181"] == DEFAULT
    assert aliases["dreamshaper_8"] == "dreamshaper_8.safetensors [9d40847d]"
    assert aliases["realistic_vision_v5.1"] == "Realistic_Vision_V5.1.safetensors [a0f13c83]"
    assert aliases["v1-5-pruned-emaonly"] == "v1-5-pruned-emaonly.safetensors [d7049739]"
    assert aliases["sdv1_4"] == "sdv1_4.ckpt [7460a6fa]"
    # One alias per checkpoint, none of them reused, all lower case and free of hashes.
    assert sorted(aliases.values()) == sorted(CHECKPOINTS)
    assert all(a == a.lower() and "[" not in a and " " not in a for a in aliases)
    assert all(not a.endswith((".safetensors", ".ckpt")) for a in aliases)


def test_alias_collisions_are_detected() -> None:
    assert checkpoint_alias("Foo_V1.ckpt [00000000]") == "foo_v1"
    with pytest.raises(ValueError, match="foo_v1"):
        derive_aliases(("Foo_V1.ckpt [00000000]", "foo_v1.safetensors [11111111]"))


def test_registry_publishes_one_id_per_checkpoint() -> None:
    registry = Registry([Prodia])
    ids = [e.id for e in registry.entries]
    assert len(ids) == len(set(ids)) == 65
    assert registry.resolve("prodia/absolutereality_v181").upstream == DEFAULT
    assert registry.resolve("Prodia/Realistic_Vision_V5.1").upstream == (
        "Realistic_Vision_V5.1.safetensors [a0f13c83]"
    )
    assert registry.resolve("dreamshaper_8").upstream == "dreamshaper_8.safetensors [9d40847d]"
    assert len({e.short_id for e in registry.entries}) == 65


@pytest.mark.parametrize(
    ("name", "upstream"),
    [
        (DEFAULT, DEFAULT),
        ("absolutereality_v181", DEFAULT),
        ("ABSOLUTEREALITY_V181", DEFAULT),
        ("realistic_vision_v5.1", "Realistic_Vision_V5.1.safetensors [a0f13c83]"),
        ("", DEFAULT),
    ],
)
def test_get_model(name: str, upstream: str) -> None:
    assert Prodia.get_model(name) == upstream


def test_options_and_image_kwargs() -> None:
    assert Prodia.options.max_images == 1
    assert Prodia.options.steps == (1, 25)
    assert Prodia.options.cfg == (0.0, 20.0)
    assert Prodia.options.aspect_ratios == ("1:1", "2:3", "3:2")
    assert Prodia.image_kwargs(ImageRequest("x")) == {}
    assert Prodia.image_kwargs(
        ImageRequest("x", negative_prompt="fog", seed=5, aspect_ratio="3:2", steps=10, cfg=4.0)
    ) == {"aspect_ratio": "landscape", "steps": 10, "cfg": 4.0, "seed": 5, "negative_prompt": "fog"}
    assert Prodia.image_kwargs(ImageRequest("x", aspect_ratio="2:3")) == {
        "aspect_ratio": "portrait"
    }
    assert Prodia.image_kwargs(ImageRequest("x", aspect_ratio="1:1")) == {"aspect_ratio": "square"}
    with pytest.raises(InvalidOption):
        Prodia.image_kwargs(ImageRequest("x", aspect_ratio="16:9"))


async def test_through_the_library_api(fake: FakeProdia, context: ProviderContext) -> None:
    entry = Registry([Prodia]).resolve("prodia/dreamshaper_8")
    request = ImageRequest("a fox", aspect_ratio="3:2", steps=8, cfg=3.0, seed=9)
    events = [e async for e in generate_images(entry, request, context)]
    assert isinstance(events[-1], ImageResponse)
    query = fake.seen("/generate")[0].query
    assert query["aspect_ratio"] == "landscape"
    assert (query["steps"], query["cfg"], query["seed"]) == ("8", "3", "9")
    assert query["prompt"] == "a fox"


async def test_sequential_jobs_share_one_connection(
    fake: FakeProdia, context: ProviderContext
) -> None:
    for _ in range(3):
        events = await run(context)
        assert isinstance(events[-1], ImageResponse)
    assert len(fake.jobs) == 3
    assert len(fake.requests) == 3 * (1 + 3)
    assert fake.connections == 1


# --- request shapes against the production URLs (no network: aioresponses) ------------------


async def test_production_urls_and_proxy(tmp_path: Path) -> None:
    settings = ProviderSettings(_env_file=None, data_dir=tmp_path, poll_interval=0)  # type: ignore[call-arg]
    context = ProviderContext.from_settings(settings)
    try:
        with aioresponses() as mocked:
            mocked.get(
                re.compile(r"^https://api\.prodia\.com/generate\?"),
                payload={"job": "j/1"},
                response_class=MockResponse,
            )
            mocked.get(
                "https://api.prodia.com/job/j%2F1",
                payload={"status": "generating"},
                response_class=MockResponse,
            )
            mocked.get(
                "https://api.prodia.com/job/j%2F1",
                payload={"status": "succeeded"},
                response_class=MockResponse,
            )
            events = [
                e
                async for e in Prodia.create_async_generator(
                    "dreamshaper_8", PROMPT, context=context, proxy="http://proxy.local:3128"
                )
            ]
            calls = {(method, str(url)): call for (method, url), call in mocked.requests.items()}
    finally:
        await context.close()

    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert result.images == ["https://images.prodia.xyz/j%2F1.png"]
    (generate,) = [k for k in calls if k[1].startswith("https://api.prodia.com/generate?")]
    generate_call = calls[generate][0]
    assert generate_call.kwargs["proxy"] == "http://proxy.local:3128"
    assert generate_call.kwargs["params"]["model"] == "dreamshaper_8.safetensors [9d40847d]"
    assert generate_call.kwargs["headers"]["Origin"] == "https://app.prodia.com"
    poll_calls = calls[("GET", "https://api.prodia.com/job/j%2F1")]
    assert len(poll_calls) == 2
    assert all(c.kwargs["proxy"] == "http://proxy.local:3128" for c in poll_calls)


async def test_the_bot_path_paces_its_polls_and_learns_how_long_jobs_take(
    fake: FakeProdia, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.queued_polls = fake.generating_polls = 1
    real_sleep = asyncio.sleep
    delays: list[float] = []

    async def recording_sleep(delay: float, result: Any = None) -> Any:
        delays.append(round(delay, 6))
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    provider = Prodia()
    async with provider_context(
        tmp_path, prodia_api_url=fake.url, prodia_image_url=fake.url, poll_interval=1.5
    ) as ctx:
        events = [e async for e in provider.generate(DEFAULT, ImageRequest(prompt="x"), ctx)]

    assert isinstance(events[-1], ImageResponse)
    # Before anything is learned, the declared typical duration (5 s): the longest pause
    # (1.5 s) until near it.
    assert delays == [1.5, 1.5, 1.5]
    assert provider.pacer.learned(Prodia.get_model(DEFAULT))
