"""After a restart, a job the upstream accepted is followed by its id, not submitted again."""

from __future__ import annotations

import json
from pathlib import Path

from providers import Event, EventStream, ImageRequest, ImageResponse, Kind, Progress, Registry
from providers.routing.api import resume_images
from providers.routing.config import build_registry
from providers.seeds.arta import ARTA
from providers.seeds.prodia import Prodia
from providers.seeds.sd35 import StabilityAI_SD35Large
from tests.fakes.arta import FakeArta
from tests.fakes.fal import FakeFal
from tests.fakes.prodia import FakeProdia
from tests.fakes.replicate import FakeReplicate
from tests.helpers import provider_context

FAL_KEY = "fal-key-for-resume"
REPLICATE_TOKEN = "r8_token_for_resume"


async def first_progress_with_id(stream: EventStream) -> Progress:
    """Reads until the upstream's job id is known, then drops the stream (the process died)."""
    async for event in stream:
        if isinstance(event, Progress) and event.job_id:
            await stream.aclose()
            return event
    raise AssertionError("no job id")


async def drain(stream: EventStream | None) -> list[Event]:
    assert stream is not None
    return [event async for event in stream]


async def test_arta_follows_its_record(tmp_path: Path) -> None:
    async with FakeArta(queue_polls=2) as fake, provider_context(tmp_path, **fake.overrides) as ctx:
        entry = Registry([ARTA]).resolve("arta/flux")
        request = ImageRequest("a fox", seed=5)
        progress = await first_progress_with_id(entry.provider.generate("Flux", request, ctx))
        events = await drain(resume_images(entry, progress.job_id or "", request, ctx))
        assert len(fake.job_list) == 1
    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert list(result.images) == fake.job_list[0].urls and result.seed == 5


async def test_prodia_follows_its_job(tmp_path: Path) -> None:
    async with (
        FakeProdia() as fake,
        provider_context(tmp_path, prodia_api_url=fake.url, prodia_image_url=fake.url) as ctx,
    ):
        fake.queued_polls = 3
        entry = Registry([Prodia]).resolve("prodia/dreamshaper_8")
        request = ImageRequest("a fox", seed=9)
        progress = await first_progress_with_id(
            entry.provider.generate(entry.upstream, request, ctx)
        )
        events = await drain(resume_images(entry, progress.job_id or "", request, ctx))
        assert len(fake.jobs) == 1
    result = events[-1]
    assert isinstance(result, ImageResponse)
    assert list(result.images) == [f"{fake.url}/{progress.job_id}.png"]


async def test_fal_follows_the_addresses_it_answered(tmp_path: Path) -> None:
    async with (
        FakeFal(key=FAL_KEY) as fake,
        provider_context(tmp_path, fal_key=FAL_KEY, fal_queue_url=fake.url) as ctx,
    ):
        entry = build_registry(ctx.settings, environ={}).resolve("fal/flux-schnell", Kind.IMAGE)
        request = ImageRequest("a fox")
        # What a process that died after the submission had stored: its first Progress's token.
        submitted = await ctx.http.json(
            "POST",
            f"{fake.url}/fal-ai/flux/schnell",
            provider="fal",
            json={"prompt": "a fox"},
            headers={"Authorization": f"Key {FAL_KEY}"},
        )
        token = json.dumps(
            {k: submitted[k] for k in ("request_id", "status_url", "response_url", "cancel_url")}
        )
        events = await drain(resume_images(entry, token, request, ctx))
        assert len(fake.submissions) == 1 and fake.cancels == []

        live = entry.provider.generate(entry.upstream, request, ctx)
        progress = await first_progress_with_id(live)
    assert isinstance(events[-1], ImageResponse)
    assert progress.resume is not None and set(json.loads(progress.resume)) == {
        "request_id",
        "status_url",
        "response_url",
        "cancel_url",
    }
    assert resume_images(entry, "not a token", request, ctx) is None


async def test_replicate_follows_its_prediction(tmp_path: Path) -> None:
    async with (
        FakeReplicate(token=REPLICATE_TOKEN) as fake,
        provider_context(
            tmp_path, replicate_api_token=REPLICATE_TOKEN, replicate_api_url=fake.api
        ) as ctx,
    ):
        entry = build_registry(ctx.settings, environ={}).resolve(
            "replicate/flux-schnell", Kind.IMAGE
        )
        created = await ctx.http.json(
            "POST",
            f"{fake.api}/models/black-forest-labs/flux-schnell/predictions",
            provider="Replicate",
            json={"input": {"prompt": "a fox"}},
            headers={"Authorization": f"Bearer {REPLICATE_TOKEN}"},
        )
        events = await drain(resume_images(entry, created["id"], ImageRequest("a fox"), ctx))
        assert len(fake.predictions) == 1 and fake.cancels == []
    assert isinstance(events[-1], ImageResponse)


async def test_a_stream_cannot_be_followed_again(tmp_path: Path) -> None:
    async with provider_context(tmp_path) as ctx:
        entry = Registry([StabilityAI_SD35Large]).resolve("sd35/sd-3.5")
        assert resume_images(entry, "0123456789abcdef", ImageRequest("a fox"), ctx) is None
