"""fal's queue protocol against a loopback fake: what is sent, what the user sees, every failure,
and cancel reaching fal when the job is abandoned."""

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
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    Stage,
    generate_images,
)
from providers.routing.config import build_registry
from tests.fakes.fal import FakeFal
from tests.fakes.prodia import png_bytes
from tests.helpers import provider_context

KEY = "fal-secret-key-do-not-leak-42"


@pytest.fixture
async def fake() -> AsyncIterator[FakeFal]:
    async with FakeFal(key=KEY) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path, fake: FakeFal) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path, fal_key=KEY, fal_queue_url=fake.url) as ctx:
        yield ctx


@pytest.fixture
def registry(context: ProviderContext) -> Registry:
    return build_registry(context.settings, environ={})


async def run(
    registry: Registry, context: ProviderContext, model: str = "fal/flux-schnell", **fields: Any
) -> list[Event]:
    request = ImageRequest(prompt=fields.pop("prompt", "a fox in the snow"), **fields)
    entry = registry.resolve(model, Kind.IMAGE)
    return [event async for event in generate_images(entry, request, context)]


def labels(events: list[Event]) -> list[str]:
    return [e.label for e in events if isinstance(e, Progress)]


# --- the happy path -------------------------------------------------------------------------


async def test_queue_positions_then_drawing_then_the_pictures(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.queue_ahead = 2
    events = await run(registry, context, n=2, aspect_ratio="16:9", seed=7, steps=4)

    assert labels(events) == [
        "Sent to fal",
        "#3 in fal's queue",
        "#2 in fal's queue",
        "#1 in fal's queue",
        "fal is drawing",
    ]
    stages = [e.stage for e in events if isinstance(e, Progress)]
    assert stages == [Stage.SUBMITTED, *[Stage.QUEUED] * 3, Stage.GENERATING]
    (request_id,) = fake.requests_by_id
    assert {e.job_id for e in events if isinstance(e, Progress)} == {request_id}

    [(app, body)] = fake.submissions
    assert app == "fal-ai/flux/schnell"
    assert body == {
        "prompt": "a fox in the snow",
        "num_images": 2,
        "image_size": "landscape_16_9",
        "seed": 7,
        "num_inference_steps": 4,
    }
    assert fake.requests[0].headers["Authorization"] == f"Key {KEY}"

    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert result.seed == 7 and result.alt == "a fox in the snow"
    assert result.model == "fal-ai/flux/schnell"
    downloaded = [await context.http.read(str(url), provider="test") for url in result.images]
    assert downloaded == [png_bytes(2, 2), png_bytes(3, 2)]


async def test_defaults_are_left_to_the_app_and_the_seed_comes_from_fal(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.queue_ahead = -1  # no queue at all
    events = await run(registry, context)
    assert labels(events) == ["Sent to fal", "fal is drawing"]
    assert fake.submissions[0][1] == {"prompt": "a fox in the snow"}
    result = events[-1]
    assert isinstance(result, ImageResponse) and result.seed == 424242


async def test_the_answers_addresses_are_followed_not_built(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    """flux/dev's status lives under fal-ai/flux/requests/..., without the /dev."""
    events = await run(registry, context, "fal/flux-dev", cfg=3.5, aspect_ratio="3:2")
    assert isinstance(events[-1], ImageResponse)
    assert fake.submissions[0][0] == "fal-ai/flux/dev"
    assert fake.submissions[0][1]["guidance_scale"] == 3.5
    assert fake.submissions[0][1]["image_size"] == {"width": 1280, "height": 832}
    polled = {r.path for r in fake.requests if r.method == "GET" and "/requests/" in r.path}
    assert polled and all(p.startswith("/fal-ai/flux/requests/") for p in polled)


async def test_options_the_app_does_not_take_are_refused_before_anything_is_sent(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    with pytest.raises(InvalidOption, match="does not take a guidance scale"):
        await run(registry, context, cfg=3.0)
    with pytest.raises(InvalidOption, match="between 1 and 12"):
        await run(registry, context, steps=30)
    with pytest.raises(InvalidOption, match="1 to 4 images"):
        await run(registry, context, n=5)
    assert fake.requests == []


async def test_an_app_we_do_not_know_gets_only_what_every_app_takes(
    fake: FakeFal, tmp_path: Path
) -> None:
    async with provider_context(
        tmp_path, fal_key=KEY, fal_queue_url=fake.url, fal_image_models="fal-ai/recraft-v3"
    ) as context:
        registry = build_registry(context.settings, environ={})
        entry = registry.resolve("fal/recraft-v3")
        assert entry.options is not None and entry.options.max_images == 1
        assert entry.options.steps is None and entry.options.cfg is None
        events = await run(registry, context, "fal/recraft-v3", aspect_ratio="1:1", seed=3)
    assert isinstance(events[-1], ImageResponse)
    assert fake.submissions[0] == (
        "fal-ai/recraft-v3",
        {"prompt": "a fox in the snow", "image_size": "square_hd", "seed": 3},
    )


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, AuthError, "refused our credentials"),
        (403, RateLimited, "out of credit"),  # fal's "User is locked. Reason: Exhausted balance"
        (429, RateLimited, "slow down"),
        (500, ProviderUnavailable, "HTTP 500"),
        (503, ProviderUnavailable, "HTTP 503"),
    ],
)
async def test_submission_errors_name_fal_and_never_the_key(
    fake: FakeFal,
    registry: Registry,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
    status: int,
    error: type[Exception],
    words: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.submit_status = status
    with pytest.raises(error) as info:
        await run(registry, context)
    message = info.value.user_message  # type: ignore[attr-defined]
    assert message.startswith("fal: ") and words in message
    assert KEY not in message and KEY not in repr(info.value)
    assert KEY not in caplog.text


async def test_a_wrong_key_is_an_auth_error(fake: FakeFal, tmp_path: Path) -> None:
    async with provider_context(tmp_path, fal_key="wrong", fal_queue_url=fake.url) as context:
        registry = build_registry(context.settings, environ={})
        with pytest.raises(AuthError):
            await run(registry, context)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b'{"status": "IN_QUEUE"}',
        b"[]",
        b'{"request_id": "x", "status_url": "http://127.0.0.2:9/a/b/requests/x/status",'
        b' "response_url": "http://127.0.0.2:9/a/b/requests/x",'
        b' "cancel_url": "http://127.0.0.2:9/a/b/requests/x/cancel"}',
    ],
)
async def test_unreadable_submit_answers_are_response_errors(
    fake: FakeFal, registry: Registry, context: ProviderContext, body: bytes
) -> None:
    fake.submit_body = body
    with pytest.raises(ResponseError) as info:
        await run(registry, context)
    assert info.value.provider == "fal"
    assert not [r for r in fake.requests if r.method == "GET"]  # no key sent anywhere else


async def test_an_app_error_is_shown_in_its_own_words(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.fail_next = "Prompt contains\nforbidden   words"
    with pytest.raises(ResponseError, match="could not draw it: Prompt contains forbidden words"):
        await run(registry, context)


async def test_a_picture_the_safety_checker_blanked_is_not_delivered(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.nsfw_next = True
    with pytest.raises(ResponseError, match="safety checker"):
        await run(registry, context)


async def test_transient_status_errors_are_waited_out(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.status_errors = [502, 429]
    events = await run(registry, context)
    assert isinstance(events[-1], ImageResponse)


async def test_persistent_status_errors_surface(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.status_errors = [500, 500, 500]
    with pytest.raises(ProviderUnavailable, match="HTTP 500"):
        await run(registry, context)
    assert len(fake.seen("/status")) == 3


# --- cancel ---------------------------------------------------------------------------------


async def test_closing_the_stream_mid_job_cancels_it_at_fal(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.queue_ahead = 10**6
    entry = registry.resolve("fal/flux-schnell")
    stream = generate_images(entry, ImageRequest(prompt="a fox"), context)
    async for event in stream:
        if isinstance(event, Progress) and event.stage == Stage.QUEUED:
            break
    await stream.aclose()

    (request_id,) = fake.requests_by_id
    assert fake.cancels == [request_id]
    [cancel] = [r for r in fake.requests if r.method == "PUT"]
    assert cancel.path == f"/fal-ai/flux/requests/{request_id}/cancel"
    assert cancel.headers["Authorization"] == f"Key {KEY}"
    polls = len(fake.seen("/status"))
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert len(fake.seen("/status")) == polls


async def test_cancelling_the_task_mid_job_cancels_it_at_fal(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    fake.queue_ahead, fake.progress_polls = 0, 10**6
    entry = registry.resolve("fal/flux-schnell")
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
    assert fake.cancels == list(fake.requests_by_id)


async def test_a_failing_cancel_is_logged_not_raised(
    fake: FakeFal, registry: Registry, context: ProviderContext, caplog: pytest.LogCaptureFixture
) -> None:
    fake.queue_ahead = 10**6
    entry = registry.resolve("fal/flux-schnell")
    stream = generate_images(entry, ImageRequest(prompt="a fox"), context)
    async for event in stream:
        if isinstance(event, Progress) and event.stage == Stage.QUEUED:
            fake.key = "rotated"  # the cancel now gets a 401
            break
    await stream.aclose()
    assert "cancelling the upstream job failed" in caplog.text
    assert KEY not in caplog.text


async def test_a_finished_job_is_not_cancelled(
    fake: FakeFal, registry: Registry, context: ProviderContext
) -> None:
    await run(registry, context)
    assert fake.cancels == []


def test_the_key_stays_out_of_reprs(registry: Registry) -> None:
    entry = registry.resolve("fal/flux-schnell")
    assert KEY not in repr(entry.provider) and KEY not in repr(entry)
    assert [e.id for e in registry.of_provider(entry.provider)] == [
        "fal/flux-schnell",
        "fal/flux-dev",
        "fal/kontext",  # FAL_EDIT_MODELS' default
    ]


async def test_a_job_past_its_deadline_is_cancelled_at_fal(fake: FakeFal, tmp_path: Path) -> None:
    fake.queue_ahead = 10**6
    async with provider_context(
        tmp_path, fal_key=KEY, fal_queue_url=fake.url, job_timeout=0.3
    ) as context:
        registry = build_registry(context.settings, environ={})
        with pytest.raises(ProviderTimeout, match=r"did not finish within 0\.3 seconds"):
            await run(registry, context)
    assert fake.cancels == list(fake.requests_by_id)


async def test_polls_are_the_longest_pause_apart_while_others_are_ahead_in_the_queue(
    fake: FakeFal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.queue_ahead = 2
    real_sleep = asyncio.sleep
    delays: list[float] = []

    async def recording_sleep(delay: float, result: Any = None) -> Any:
        delays.append(round(delay, 6))
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    async with provider_context(
        tmp_path, fal_key=KEY, fal_queue_url=fake.url, poll_interval=1.5
    ) as ctx:
        await run(build_registry(ctx.settings, environ={}), ctx)

    # a first short step; 1.5 s while #3 and #2; growing steps from #1 (next to run) on
    assert delays == [0.2, 1.5, 1.5, 0.3, 0.45]
