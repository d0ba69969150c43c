"""Each provider runs a bounded number of jobs at once; the others wait for a free slot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from providers import (
    Event,
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Kind,
    ModelSpec,
    Progress,
    Provider,
    ProviderContext,
    ProviderSettings,
    Registry,
    Stage,
    generate_images,
)
from providers.core.entry import ConfigError
from providers.core.slots import API_SLOTS, SPACE_SLOTS
from providers.routing.config import build_registry
from providers.seeds.sd35 import StabilityAI_SD35Large
from tests.helpers import provider_context


class Gated(Provider):
    """Each job draws once the test lets it."""

    name, label, max_concurrency = "gated", "Gated", 2

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.release = asyncio.Event()

    def offers(self) -> list[ModelSpec]:
        return [ModelSpec("m", "m", Kind.IMAGE, ImageOptions())]

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.release.wait()
            yield ImageResponse([b"png"], request.prompt)
        finally:
            self.running -= 1


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


async def test_jobs_beyond_the_providers_slots_wait_and_say_so(context: ProviderContext) -> None:
    provider = Gated()
    entry = Registry([provider]).resolve("gated/m")
    first_events: list[list[Event]] = [[] for _ in range(3)]
    third_heard = asyncio.Event()

    async def run(index: int) -> None:
        async for event in generate_images(entry, ImageRequest(f"fox {index}"), context):
            first_events[index].append(event)
            if index == 2:
                third_heard.set()

    tasks = [asyncio.create_task(run(i)) for i in range(3)]
    await third_heard.wait()
    assert provider.running == 2
    assert first_events[2] == [Progress(Stage.QUEUED, "Waiting for a free slot at Gated")]
    provider.release.set()
    await asyncio.gather(*tasks)
    assert provider.most == 2
    assert all(isinstance(events[-1], ImageResponse) for events in first_events)


def test_spaces_take_a_few_apis_many_and_the_file_can_say(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(
        "[[provider]]\nname = 'space'\ntype = 'gradio'\nbase_url = 'https://a-b.hf.space'\n"
        "image_models = { x = '/infer' }\n"
        "[[provider]]\nname = 'big'\ntype = 'openai'\nmax_concurrency = 200\n"
        "image_models = ['m']\n",
        encoding="utf-8",
    )
    settings = ProviderSettings(_env_file=None, data_dir=tmp_path, providers_file=path)  # type: ignore[call-arg]
    registry = build_registry(settings, environ={})
    limits = {p.name: p.slots.limit for p in registry.providers}
    assert limits["space"] == SPACE_SLOTS == StabilityAI_SD35Large().slots.limit
    assert limits["big"] == 200
    assert limits["arta"] == API_SLOTS
    assert registry.providers[0].slots is registry.providers[0].slots
    assert registry.providers[0].slots is not registry.providers[2].slots


def test_provider_slots_override_any_provider(tmp_path: Path) -> None:
    settings = ProviderSettings(_env_file=None, data_dir=tmp_path, provider_slots="sd35=1, arta=9")  # type: ignore[call-arg]
    registry = build_registry(settings, environ={})
    limits = {p.name: p.slots.limit for p in registry.providers}
    assert (limits["sd35"], limits["arta"]) == (1, 9)
    for broken in ("nosuch=2", "arta=0", "arta"):
        bad = ProviderSettings(_env_file=None, data_dir=tmp_path, provider_slots=broken)  # type: ignore[call-arg]
        with pytest.raises(ConfigError, match="PROVIDER_SLOTS"):
            build_registry(bad, environ={})
