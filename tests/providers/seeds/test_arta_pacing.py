"""The bot's way into ARTA (``ARTA().generate``) paces its polls with the provider's Pacer.

Time is virtual: ``asyncio.sleep`` is replaced by one that moves a clock the Pacer and the fake
ARTA share, and a job is done a known number of virtual seconds after it was submitted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from providers import ImageRequest, ImageResponse, ProviderContext
from providers.core.polling import FIRST_STEP, Pacer
from providers.seeds.arta import ARTA
from tests.fakes.arta import FakeArta
from tests.helpers import provider_context

DURATION = 3.0
INTERVAL = 2.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ArtaTakingTime(FakeArta):
    """ARTA whose jobs are done ``DURATION`` seconds of the clock after submission."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(queue_polls=0, progress_polls=0)
        self.clock = clock
        self.submitted: dict[str, float] = {}
        self.polled_at: list[float] = []

    async def _text2image(self, request: web.Request) -> web.Response:
        before = set(self.jobs)
        response = await super()._text2image(request)
        for record_id in self.jobs.keys() - before:
            self.submitted[record_id] = self.clock.now
        return response

    async def _status(self, request: web.Request) -> web.Response:
        self.polled_at.append(self.clock.now)
        submitted = self.submitted[request.match_info["record_id"]]
        if self.clock.now < submitted + DURATION:
            return web.json_response({"status": "IN_PROGRESS", "response": None})
        return await super()._status(request)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    real_sleep = asyncio.sleep

    async def virtual_sleep(delay: float, result: Any = None) -> Any:
        clock.now += delay
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", virtual_sleep)
    return clock


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[ArtaTakingTime]:
    async with ArtaTakingTime(clock) as server:
        yield server


@pytest.fixture
async def context(fake: ArtaTakingTime, tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path, poll_interval=INTERVAL, **fake.overrides) as ctx:
        yield ctx


async def draw(provider: ARTA, context: ProviderContext, fake: ArtaTakingTime) -> list[float]:
    """Runs one job on the bot's path; returns when (after submission) its status was polled."""
    polls_before = len(fake.polled_at)
    events = [e async for e in provider.generate("Flux", ImageRequest(prompt="a fox"), context)]
    assert isinstance(events[-1], ImageResponse)
    submitted = fake.submitted[list(fake.submitted)[-1]]
    return [at - submitted for at in fake.polled_at[polls_before:]]


async def test_the_bot_path_polls_less_than_fixed_polling_as_prompt_would(
    clock: Clock, fake: ArtaTakingTime, context: ProviderContext
) -> None:
    provider = ARTA()
    provider.__dict__["_pacer"] = Pacer(clock=clock)
    first = await draw(provider, context, fake)
    for _ in range(3):
        learned = await draw(provider, context, fake)

    late = learned[-1] - DURATION
    as_prompt_fixed = int(DURATION / FIRST_STEP) + 1  # polls 0.2 s apart, from 0 s to 3 s
    assert 0 <= late <= FIRST_STEP
    assert len(learned) <= 3 < as_prompt_fixed
    assert learned[0] == pytest.approx(INTERVAL)  # the longest pause is POLL_INTERVAL
    assert first[:3] == pytest.approx([0.2, 0.5, 0.95])  # nothing learned yet: growing steps
    assert len(learned) < len(first)


async def test_the_seed_interface_keeps_polling_at_the_interval(
    clock: Clock, fake: ArtaTakingTime, context: ProviderContext
) -> None:
    events = [e async for e in ARTA.create_async_generator("Flux", [], context=context, prompt="x")]

    assert isinstance(events[-1], ImageResponse)
    assert fake.polled_at == [0.0, INTERVAL, 2 * INTERVAL]
