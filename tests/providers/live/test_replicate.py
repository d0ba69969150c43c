"""Replicate's predictions API against a loopback fake: what is sent, Prefer: wait saving the
poll, outputs as a URL or a list, every failure, and cancel when the job is abandoned."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from providers import (
    AuthError,
    Event,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Progress,
    ProviderContext,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    Stage,
    generate_images,
)
from providers.routing.config import build_registry
from tests.fakes.prodia import png_bytes
from tests.fakes.replicate import FakeReplicate
from tests.helpers import provider_context

TOKEN = "r8_secret_token_do_not_leak_42"
MODELS = (
    "black-forest-labs/flux-schnell,dev=black-forest-labs/flux-dev,black-forest-labs/flux-1.1-pro"
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeReplicate]:
    async with FakeReplicate(token=TOKEN) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path, fake: FakeReplicate) -> AsyncIterator[ProviderContext]:
    async with provider_context(
        tmp_path,
        replicate_api_token=TOKEN,
        replicate_api_url=fake.api,
        replicate_image_models=MODELS,
    ) as ctx:
        yield ctx


@pytest.fixture
def registry(context: ProviderContext) -> Registry:
    return build_registry(context.settings, environ={})


async def run(
    registry: Registry,
    context: ProviderContext,
    model: str = "replicate/flux-schnell",
    **fields: Any,
) -> list[Event]:
    request = ImageRequest(prompt=fields.pop("prompt", "a fox in the snow"), **fields)
    entry = registry.resolve(model, Kind.IMAGE)
    return [event async for event in generate_images(entry, request, context)]


def progress(events: list[Event]) -> list[tuple[Stage, str]]:
    return [(e.stage, e.label) for e in events if isinstance(e, Progress)]


# --- the happy path -------------------------------------------------------------------------


async def test_a_prediction_is_followed_until_it_succeeds(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.starting_polls, fake.processing_polls = 2, 2
    events = await run(registry, context, n=2, aspect_ratio="21:9", seed=11, steps=4)

    assert progress(events) == [
        (Stage.SUBMITTED, "Sent to Replicate"),
        (Stage.QUEUED, "Replicate is starting the model"),
        (Stage.GENERATING, "Replicate is drawing"),
    ]
    (prediction_id,) = fake.predictions
    assert {e.job_id for e in events if isinstance(e, Progress)} == {prediction_id}

    [(path, body, prefer)] = fake.creations
    assert path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert body == {
        "input": {
            "prompt": "a fox in the snow",
            "aspect_ratio": "21:9",
            "num_outputs": 2,
            "seed": 11,
            "num_inference_steps": 4,
        }
    }
    assert prefer is not None and prefer.startswith("wait=")
    assert fake.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"

    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert result.seed == 11 and result.model == "black-forest-labs/flux-schnell"
    downloaded = [await context.http.read(str(url), provider="test") for url in result.images]
    assert downloaded == [png_bytes(3, 3), png_bytes(4, 3)]


async def test_prefer_wait_brings_a_finished_prediction_and_no_poll(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.finish_while_waiting = True
    events = await run(registry, context)
    assert progress(events) == [(Stage.SUBMITTED, "Sent to Replicate")]
    assert isinstance(events[-1], ImageResponse) and len(events[-1].images) == 1
    assert not [r for r in fake.requests if r.method == "GET" and "/predictions/" in r.path]


async def test_a_waited_prediction_still_marked_processing_is_polled_once(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.finish_while_waiting = fake.processing_when_waited = True
    events = await run(registry, context)
    assert isinstance(events[-1], ImageResponse)
    assert len([r for r in fake.requests if r.method == "GET"]) == 1


async def test_one_url_as_output_and_the_seed_from_the_logs(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.single_output = True
    events = await run(registry, context, "replicate/flux-1.1-pro", aspect_ratio="4:5")
    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert len(result.images) == 1 and str(result.images[0]).startswith(fake.url)
    assert result.seed == 31337  # "Using seed: 31337" in the prediction's logs
    body = fake.creations[0][1]
    assert body == {"input": {"prompt": "a fox in the snow", "aspect_ratio": "4:5"}}


async def test_guidance_goes_to_flux_dev_and_is_refused_for_schnell(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    await run(registry, context, "replicate/dev", cfg=3.5, steps=28)
    model_input = fake.creations[0][1]["input"]
    assert (model_input["guidance"], model_input["num_inference_steps"]) == (3.5, 28)
    with pytest.raises(InvalidOption, match="does not take a guidance scale"):
        await run(registry, context, cfg=3.5)
    with pytest.raises(InvalidOption, match="between 1 and 4"):
        await run(registry, context, steps=28)
    assert len(fake.creations) == 1


async def test_a_pinned_version_uses_the_predictions_endpoint(
    fake: FakeReplicate, tmp_path: Path
) -> None:
    async with provider_context(
        tmp_path,
        replicate_api_token=TOKEN,
        replicate_api_url=fake.api,
        replicate_image_models="toon=someone/toon-model:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
    ) as context:
        registry = build_registry(context.settings, environ={})
        events = await run(registry, context, "replicate/toon")
    assert isinstance(events[-1], ImageResponse)
    path, body, _ = fake.creations[0]
    assert path == "/v1/predictions"
    assert body["version"].startswith("5c7d5dc6") and body["input"]["prompt"]


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, AuthError, "refused our credentials"),
        (402, RateLimited, "out of credit"),
        (429, RateLimited, "slow down"),
        (500, ProviderUnavailable, "HTTP 500"),
        (422, ResponseError, "rejected the request"),
    ],
)
async def test_creation_errors_name_replicate_and_never_the_token(
    fake: FakeReplicate,
    registry: Registry,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
    status: int,
    error: type[Exception],
    words: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.create_status = status
    with pytest.raises(error) as info:
        await run(registry, context)
    message = info.value.user_message  # type: ignore[attr-defined]
    assert message.startswith("Replicate: ") and words in message
    assert TOKEN not in message and TOKEN not in repr(info.value)
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"status": "starting"}', b"[1]"])
async def test_unreadable_answers_are_response_errors(
    fake: FakeReplicate, registry: Registry, context: ProviderContext, body: bytes
) -> None:
    fake.create_body = body
    with pytest.raises(ResponseError) as info:
        await run(registry, context)
    assert info.value.provider == "Replicate"


async def test_a_failed_prediction_is_explained_in_the_models_words(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.fail_next = "NSFW content detected. Try running it again, or try a different prompt."
    with pytest.raises(ResponseError) as info:
        await run(registry, context)
    assert info.value.user_message == (
        "Replicate: could not draw it: NSFW content detected. "
        "Try running it again, or try a different prompt."
    )


async def test_a_failure_while_waiting_needs_no_poll_either(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.finish_while_waiting = True
    fake.fail_next = "CUDA out of memory " + "x" * 500
    with pytest.raises(ResponseError) as info:
        await run(registry, context)
    assert len(str(info.value)) < 260 and str(info.value).endswith("…")
    assert not [r for r in fake.requests if r.method == "GET"]


async def test_a_prediction_cancelled_elsewhere_is_reported(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.starting_polls = 10**6
    entry = registry.resolve("replicate/flux-schnell")
    with pytest.raises(ResponseError, match="cancelled the prediction"):
        async for event in generate_images(entry, ImageRequest(prompt="fox"), context):
            if isinstance(event, Progress) and event.stage == Stage.QUEUED:
                (prediction,) = fake.predictions.values()
                prediction.status = "canceled"  # someone pressed Cancel on replicate.com


async def test_transient_poll_errors_are_waited_out_and_persistent_ones_surface(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.poll_errors = [503, 429]
    assert isinstance((await run(registry, context))[-1], ImageResponse)
    fake.poll_errors = [500, 500, 500]
    with pytest.raises(ProviderUnavailable):
        await run(registry, context)


# --- cancel ---------------------------------------------------------------------------------


async def test_closing_the_stream_mid_job_cancels_the_prediction(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.starting_polls = 10**6
    entry = registry.resolve("replicate/flux-schnell")
    stream = generate_images(entry, ImageRequest(prompt="a fox"), context)
    async for event in stream:
        if isinstance(event, Progress) and event.stage == Stage.QUEUED:
            break
    await stream.aclose()
    (prediction_id,) = fake.predictions
    assert fake.cancels == [prediction_id]
    [cancel] = fake.seen("/cancel")
    assert cancel.method == "POST" and cancel.headers["Authorization"] == f"Bearer {TOKEN}"
    assert fake.predictions[prediction_id].status == "canceled"


async def test_cancelling_the_task_mid_job_cancels_the_prediction(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.starting_polls, fake.processing_polls = 0, 10**6
    entry = registry.resolve("replicate/flux-schnell")
    drawing = asyncio.Event()

    async def consume() -> None:
        async for event in generate_images(entry, ImageRequest(prompt="a fox"), context):
            if isinstance(event, Progress) and event.stage == Stage.GENERATING:
                drawing.set()

    task = asyncio.create_task(consume())
    await drawing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.cancels == list(fake.predictions)


async def test_a_finished_prediction_is_not_cancelled(
    fake: FakeReplicate, registry: Registry, context: ProviderContext
) -> None:
    fake.finish_while_waiting = True
    await run(registry, context)
    assert fake.cancels == []


def test_the_token_stays_out_of_reprs_and_the_model_list(registry: Registry) -> None:
    entry = registry.resolve("replicate/flux-schnell")
    assert TOKEN not in repr(entry.provider) and TOKEN not in repr(entry)
    assert [e.id for e in registry.of_provider(entry.provider)] == [
        "replicate/flux-schnell",
        "replicate/dev",
        "replicate/flux-1.1-pro",
        "replicate/flux-kontext-pro",  # REPLICATE_EDIT_MODELS' default
    ]
