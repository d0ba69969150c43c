"""ARTA against a loopback fake speaking its protocol: sign-up, refresh, submit, poll."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
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
    Progress,
    ProviderContext,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    Stage,
    generate_images,
)
from providers.core.polling import POLL_RETRIES
from providers.seeds.arta import ARTA
from tests.fakes.arta import FakeArta
from tests.helpers import provider_context

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def fake() -> AsyncIterator[FakeArta]:
    async with FakeArta() as server:
        yield server


@pytest.fixture
async def context(fake: FakeArta, tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path, **fake.overrides) as ctx:
        yield ctx


async def run(context: ProviderContext, model: str = "flux", **kwargs: Any) -> list[Event]:
    kwargs.setdefault("prompt", "a cat in space")
    stream = ARTA.create_async_generator(model, [], context=context, **kwargs)
    return [event async for event in stream]


def final(events: list[Event]) -> ImageResponse:
    assert isinstance(events[-1], ImageResponse)
    return events[-1]


def auth_file(tmp_path: Path) -> Path:
    return tmp_path / "auth_ARTA.json"


def saved(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(auth_file(tmp_path).read_text())
    return data


def age_auth_file(tmp_path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(auth_file(tmp_path), (past, past))


# --- the happy path -------------------------------------------------------------------------


async def test_queue_then_progress_then_done(fake: FakeArta, context: ProviderContext) -> None:
    fake.queue_polls, fake.progress_polls = 2, 3

    events = await run(context, prompt="a red fox", seed=42)

    progress = [e for e in events if isinstance(e, Progress)]
    # Signing in (no token yet), on its way, taken (with the record's id), then the polls.
    assert [p.stage for p in progress] == [
        Stage.SIGNING_IN,
        Stage.SUBMITTED,
        Stage.SUBMITTED,
        Stage.QUEUED,
        Stage.GENERATING,
    ]
    assert [p.job_id is not None for p in progress[1:3]] == [False, True]
    assert len(events) == 6
    elapsed = [p.elapsed for p in progress]
    assert all(e is not None and e >= 0 for e in elapsed)
    assert elapsed == sorted(elapsed)  # type: ignore[type-var]
    (job,) = fake.job_list
    assert job.polls == 2 + 3 + 1
    result = final(events)
    assert list(result.images) == job.urls
    assert (result.alt, result.seed, result.model) == ("a red fox", 42, "Flux")


async def test_sends_the_seed_form_fields_as_strings_with_the_token(
    fake: FakeArta, context: ProviderContext, tmp_path: Path
) -> None:
    await run(context, prompt="a red fox", seed=42)

    (job,) = fake.job_list
    assert job.form == {
        "prompt": "a red fox",
        "negative_prompt": "blurry, deformed hands, ugly",
        "style": "Flux",
        "images_num": "1",
        "cfg_scale": "7",
        "steps": "30",
        "aspect_ratio": "1:1",
        "seed": "42",
    }
    assert job.authorization == saved(tmp_path)["idToken"]
    status_calls = fake.seen("/status")
    assert status_calls
    assert all(s.headers["Authorization"] == job.authorization for s in status_calls)


async def test_tuned_request(fake: FakeArta, context: ProviderContext) -> None:
    events = await run(
        context,
        model="vincent_van_gogh",
        prompt="sunflowers",
        negative_prompt="people",
        n=4,
        guidance_scale=7.5,
        num_inference_steps=12,
        aspect_ratio="16:9",
        seed=7,
    )

    (job,) = fake.job_list
    assert job.form["style"] == "Vincent Van Gogh"
    assert job.form["negative_prompt"] == "people"
    assert (job.form["cfg_scale"], job.form["steps"], job.form["aspect_ratio"]) == (
        "7.5",
        "12",
        "16:9",
    )
    result = final(events)
    assert job.form["images_num"] == "4"
    assert len(result.images) == 4
    assert len(set(result.images)) == 4
    assert result.model == "Vincent Van Gogh"


async def test_prompt_from_messages_and_random_seed(
    fake: FakeArta, context: ProviderContext
) -> None:
    messages = [{"role": "user", "content": "  a lighthouse  "}]
    stream = ARTA.create_async_generator("flux", messages, context=context)  # type: ignore[arg-type]
    result = final([e async for e in stream])

    (job,) = fake.job_list
    assert job.form["prompt"] == "a lighthouse"
    assert isinstance(result.seed, int)
    assert job.form["seed"] == str(result.seed)


async def test_result_urls_serve_png(fake: FakeArta, context: ProviderContext) -> None:
    result = final(await run(context, n=2))

    for url in result.images:
        assert isinstance(url, str)
        body = await context.http.read(url, provider="test")
        assert body.startswith(PNG_SIGNATURE)


async def test_through_the_library_api(fake: FakeArta, context: ProviderContext) -> None:
    entry = Registry([ARTA]).resolve("arta/vincent_van_gogh")
    request = ImageRequest(prompt="a bridge", n=2, aspect_ratio="3:4", cfg=5, steps=20, seed=3)

    events = [e async for e in generate_images(entry, request, context)]

    (job,) = fake.job_list
    assert job.form["style"] == "Vincent Van Gogh"
    assert job.form["negative_prompt"] == "blurry, deformed hands, ugly"
    assert (job.form["cfg_scale"], job.form["steps"], job.form["seed"]) == ("5", "20", "3")
    assert len(final(events).images) == 2


async def test_library_api_rejects_too_many_images(context: ProviderContext) -> None:
    entry = Registry([ARTA]).resolve("arta/flux")
    with pytest.raises(InvalidOption):
        generate_images(entry, ImageRequest(prompt="x", n=5), context)


async def test_polls_at_the_configured_interval(
    fake: FakeArta, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.queue_polls, fake.progress_polls = 2, 2
    real_sleep = asyncio.sleep
    delays: list[float] = []

    async def recording_sleep(delay: float, result: Any = None) -> Any:
        delays.append(delay)
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    async with provider_context(tmp_path, poll_interval=1.25, **fake.overrides) as ctx:
        await run(ctx)

    assert delays.count(1.25) == 4  # five polls, a pause between each two


async def test_connections_are_reused(fake: FakeArta, context: ProviderContext) -> None:
    for _ in range(5):
        await run(context)

    assert len(fake.requests) >= 1 + 5 * 4
    assert fake.connections <= 2


# --- the auth cache --------------------------------------------------------------------------


async def test_token_is_reused_from_the_file(
    fake: FakeArta, context: ProviderContext, tmp_path: Path
) -> None:
    await run(context)
    await run(context)
    async with provider_context(tmp_path, **fake.overrides) as another:
        await run(another)

    assert (fake.signups, fake.refreshes) == (1, 0)
    assert len({job.authorization for job in fake.job_list}) == 1


async def test_refreshes_once_older_than_half_the_lifetime(
    fake: FakeArta, context: ProviderContext, tmp_path: Path
) -> None:
    await run(context)
    before = saved(tmp_path)
    age_auth_file(tmp_path, 1900)

    await run(context)

    assert (fake.signups, fake.refreshes) == (1, 1)
    after = saved(tmp_path)
    assert after["idToken"] != before["idToken"]
    assert after["refreshToken"] != before["refreshToken"]
    assert after["expiresIn"] == "3600"
    assert (after["localId"], after["kind"]) == (before["localId"], before["kind"])
    assert fake.job_list[-1].authorization == after["idToken"]
    assert time.time() - auth_file(tmp_path).stat().st_mtime < 60

    await run(context)  # the rewritten file is fresh again
    assert (fake.signups, fake.refreshes) == (1, 1)


async def test_young_file_is_not_refreshed(
    fake: FakeArta, context: ProviderContext, tmp_path: Path
) -> None:
    await run(context)
    age_auth_file(tmp_path, 1700)

    await run(context)

    assert (fake.signups, fake.refreshes) == (1, 0)


async def test_signs_up_again_once_expired(
    fake: FakeArta, context: ProviderContext, tmp_path: Path
) -> None:
    await run(context)
    first = saved(tmp_path)
    age_auth_file(tmp_path, 3700)

    await run(context)

    assert (fake.signups, fake.refreshes) == (2, 0)
    assert saved(tmp_path)["localId"] != first["localId"]


@pytest.mark.parametrize("breakage", ["500", "revoked", "missing"])
async def test_signs_up_again_when_refresh_fails(
    fake: FakeArta, context: ProviderContext, tmp_path: Path, breakage: str
) -> None:
    await run(context)
    age_auth_file(tmp_path, 2000)
    if breakage == "revoked":
        fake.revoke_tokens(refresh=True)
    else:
        fake.fail("refresh", breakage)  # type: ignore[arg-type]

    events = await run(context)

    assert isinstance(events[-1], ImageResponse)
    assert (fake.signups, fake.refreshes) == (2, 1)
    assert fake.job_list[-1].authorization == saved(tmp_path)["idToken"]


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"refreshToken": "x"}', '{"idToken": 5}', ""]
)
async def test_unreadable_file_means_sign_up(
    fake: FakeArta, context: ProviderContext, tmp_path: Path, content: str
) -> None:
    auth_file(tmp_path).write_text(content)

    await run(context)

    assert (fake.signups, fake.refreshes) == (1, 0)
    assert saved(tmp_path)["idToken"] == fake.job_list[0].authorization


async def test_auth_file_is_private_and_written_atomically(
    fake: FakeArta, context: ProviderContext, tmp_path: Path
) -> None:
    data_dir = tmp_path / "nested" / "data"
    async with provider_context(data_dir, **fake.overrides) as ctx:
        await run(ctx)
        path = auth_file(data_dir)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        age_auth_file(data_dir, 2000)
        await run(ctx)

    assert fake.refreshes == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in data_dir.iterdir()] == ["auth_ARTA.json"]


async def test_concurrent_jobs_share_one_sign_up(fake: FakeArta, context: ProviderContext) -> None:
    results = await asyncio.gather(*(run(context, seed=i) for i in range(50)))

    assert fake.signups == 1
    assert all(isinstance(events[-1], ImageResponse) for events in results)
    assert len(fake.jobs) == 50


async def test_get_auth_file_creates_the_data_dir(tmp_path: Path) -> None:
    async with provider_context(tmp_path / "a" / "b") as ctx:
        path = ARTA.get_auth_file(ctx)
    assert path == tmp_path / "a" / "b" / "auth_ARTA.json"
    assert path.parent.is_dir()


async def test_public_token_helpers(fake: FakeArta, context: ProviderContext) -> None:
    path = ARTA.get_auth_file(context)
    data = await ARTA.create_token(path, context)
    assert json.loads(path.read_text()) == data

    id_token, refresh_token = await ARTA.refresh_token(data["refreshToken"], context)

    assert id_token in fake.id_tokens
    assert refresh_token in fake.refresh_tokens
    assert (await ARTA.read_and_refresh_token(context))["idToken"] == data["idToken"]


# --- 401s ----------------------------------------------------------------------------------


async def test_401_on_generate_refreshes_and_retries(
    fake: FakeArta, context: ProviderContext, tmp_path: Path
) -> None:
    await run(context)
    fake.revoke_tokens()

    events = await run(context)

    assert isinstance(events[-1], ImageResponse)
    assert (fake.signups, fake.refreshes) == (1, 1)
    assert len(fake.seen("/text2image")) - len(fake.seen("/status")) == 3
    assert fake.job_list[-1].authorization == saved(tmp_path)["idToken"]


async def test_401_on_status_refreshes_and_retries(
    fake: FakeArta, context: ProviderContext
) -> None:
    fake.fail("status", "401")

    events = await run(context)

    assert isinstance(events[-1], ImageResponse)
    assert (fake.signups, fake.refreshes) == (1, 1)


async def test_401_with_a_dead_refresh_token_signs_up_again(
    fake: FakeArta, context: ProviderContext
) -> None:
    await run(context)
    fake.revoke_tokens(refresh=True)

    events = await run(context)

    assert isinstance(events[-1], ImageResponse)
    assert (fake.signups, fake.refreshes) == (2, 1)


@pytest.mark.parametrize("endpoint", ["generate", "status"])
async def test_second_401_propagates(
    fake: FakeArta, context: ProviderContext, endpoint: str
) -> None:
    fake.fail(endpoint, "401", times=2)  # type: ignore[arg-type]

    with pytest.raises(AuthError):
        await run(context)

    assert fake.refreshes == 1


async def test_concurrent_401s_share_one_refresh(fake: FakeArta, context: ProviderContext) -> None:
    await run(context)
    fake.revoke_tokens()

    results = await asyncio.gather(*(run(context) for _ in range(10)))

    assert all(isinstance(events[-1], ImageResponse) for events in results)
    assert (fake.signups, fake.refreshes) == (1, 1)


# --- upstream failures ------------------------------------------------------------------------


async def test_failure_status_names_it(fake: FakeArta, context: ProviderContext) -> None:
    fake.fail_next_job("FAILED")
    events: list[Event] = []

    with pytest.raises(ResponseError, match="FAILED") as caught:
        async for event in ARTA.create_async_generator("flux", [], context=context, prompt="a cat"):
            events.append(event)

    stages = [e.stage for e in events if isinstance(e, Progress)]
    assert stages == [Stage.SIGNING_IN, Stage.SUBMITTED, Stage.SUBMITTED, Stage.QUEUED]
    assert caught.value.provider == "ARTA"
    assert all(token not in str(caught.value) for token in fake.id_tokens)


@pytest.mark.parametrize(
    ("endpoint", "fault", "error"),
    [
        ("generate", "500", ProviderUnavailable),
        ("generate", "429", RateLimited),
        ("generate", "malformed", ResponseError),
        ("generate", "missing", ResponseError),
        ("status", "500", ProviderUnavailable),
        ("status", "429", RateLimited),
        ("status", "malformed", ResponseError),
        ("status", "missing", ResponseError),
        ("signup", "500", ProviderUnavailable),
        ("signup", "malformed", ResponseError),
        ("signup", "missing", ResponseError),
    ],
)
async def test_upstream_errors_map_to_provider_errors(
    fake: FakeArta,
    context: ProviderContext,
    endpoint: str,
    fault: str,
    error: type[ProviderError],
) -> None:
    fake.fail(endpoint, fault)  # type: ignore[arg-type]

    with pytest.raises(error) as caught:
        await run(context)

    assert type(caught.value) is error
    assert caught.value.provider == "ARTA"
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 7


async def test_failed_sign_up_leaves_no_auth_file(
    fake: FakeArta, context: ProviderContext, tmp_path: Path
) -> None:
    fake.fail("signup", "missing")

    with pytest.raises(ResponseError):
        await run(context)

    assert not auth_file(tmp_path).exists()
    await run(context)
    assert fake.signups == 2


async def test_unknown_model_fails_before_any_request(
    fake: FakeArta, context: ProviderContext
) -> None:
    with pytest.raises(ProviderError, match="no-such-style"):
        await run(context, model="no-such-style")

    assert fake.requests == []


async def test_tokens_never_reach_the_logs(
    fake: FakeArta, context: ProviderContext, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await run(context)
    age_auth_file(tmp_path, 2000)
    fake.fail("refresh", "500")
    await run(context)

    secrets = [*fake.id_tokens, *fake.refresh_tokens]
    assert caplog.records
    assert all(token not in caplog.text for token in secrets)


@pytest.mark.parametrize("fault", ["500", "429"])
async def test_the_bot_path_waits_out_a_few_transient_poll_errors(
    fake: FakeArta, context: ProviderContext, fault: str
) -> None:
    entry = Registry([ARTA]).resolve("arta/flux")
    fake.queue_polls = 1
    fake.fail("status", fault, times=POLL_RETRIES)  # type: ignore[arg-type]

    events = [e async for e in generate_images(entry, ImageRequest("a fox"), context)]

    assert isinstance(events[-1], ImageResponse)
    assert len(fake.job_list) == 1  # polled on, never submitted again


async def test_the_bot_path_gives_up_after_too_many_poll_errors_in_a_row(
    fake: FakeArta, context: ProviderContext
) -> None:
    entry = Registry([ARTA]).resolve("arta/flux")
    fake.fail("status", "500", times=POLL_RETRIES + 1)

    with pytest.raises(ProviderUnavailable):
        async for _ in generate_images(entry, ImageRequest("a fox"), context):
            pass
