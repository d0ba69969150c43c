"""A whole-job deadline across fallbacks: every model shares it, and the job ends saying what it
waited for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from providers import (
    ErrorCode,
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Kind,
    Media,
    ModelSpec,
    Progress,
    Provider,
    ProviderContext,
    ProviderUnavailable,
    Registry,
    Stage,
    Switched,
)
from providers.routing.api import OutOfTime, stage_of
from providers.routing.fallback import candidates, generate_with_fallback
from providers.routing.health import HealthBook, MemoryHealthStore
from tests.helpers import provider_context


class Stalling(Provider):
    """A provider that fails at once (``fails``), or says ``says`` and then never finishes."""

    def __init__(self, name: str, says: Sequence[Progress] = (), *, fails: bool = False) -> None:
        self.name, self.label = name, name.upper()
        self.says, self.fails = list(says), fails
        self.started: list[float] = []

    def offers(self) -> list[ModelSpec]:
        return [ModelSpec("draw", "up-draw", Kind.IMAGE, ImageOptions())]

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        self.started.append(asyncio.get_running_loop().time())
        if self.fails:
            raise ProviderUnavailable(ErrorCode.UNREACHABLE, provider=self.label)
        for event in self.says:
            yield event
        await asyncio.Event().wait()
        yield ImageResponse([b"png"], request.prompt)

    async def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        raise NotImplementedError
        yield


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:  # JOB_TIMEOUT stays at its 300 s
        yield ctx


@pytest.fixture
def health() -> HealthBook:
    return HealthBook(MemoryHealthStore(), lambda: 1_000_000.0)


async def run(
    providers: list[Stalling], context: ProviderContext, health: HealthBook, until: float
) -> tuple[list[object], OutOfTime | Exception]:
    registry = Registry(providers)
    chain = candidates(registry, registry.resolve(f"{providers[0].name}/draw"), None)
    events: list[object] = []
    try:
        async for event in generate_with_fallback(
            chain, ImageRequest("fox"), context, health, until
        ):
            events.append(event)
    except Exception as error:
        return events, error
    raise AssertionError("the job did not end")


async def test_a_fallback_gets_what_is_left_and_is_not_blamed(
    context: ProviderContext, health: HealthBook
) -> None:
    queued = Progress(Stage.QUEUED, "queued", job_id="b-1", queue_position=3)
    alpha, beta = Stalling("alpha", fails=True), Stalling("beta", [queued])
    until = asyncio.get_running_loop().time() + 0.3

    events, error = await run([alpha, beta], context, health, until)

    assert [type(e) for e in events] == [Switched, Progress]
    assert isinstance(error, OutOfTime)
    assert (error.model, error.stage, error.queue_position) == ("beta/draw", Stage.QUEUED, 3)
    assert error.provider == "BETA" and error.code == ErrorCode.DEADLINE
    # It had what was left of the job's time, not JOB_TIMEOUT of its own.
    assert beta.started[0] >= alpha.started[0]
    assert float(error.params["seconds"]) <= round(until - alpha.started[0], 1)
    assert health.of("alpha").failures_in_a_row == 1
    assert health.of("beta").failures_in_a_row == 0


async def test_the_model_that_had_all_the_time_is_blamed(
    context: ProviderContext, health: HealthBook
) -> None:
    signing_in = Progress(Stage.SIGNING_IN, "Signing in", 0.0)
    sending = Progress(Stage.SUBMITTED, "Sending", 0.0)  # no job id: not taken yet
    alpha, beta = Stalling("alpha", [signing_in, sending]), Stalling("beta")
    until = asyncio.get_running_loop().time() + 0.3

    _, error = await run([alpha, beta], context, health, until)

    assert isinstance(error, OutOfTime)
    assert (error.model, error.stage) == ("alpha/draw", None)
    assert beta.started == []  # no time was left for it
    assert health.of("alpha").failures_in_a_row == 1


async def test_past_the_deadline_the_next_model_is_not_started(
    context: ProviderContext, health: HealthBook
) -> None:
    alpha, beta = Stalling("alpha", fails=True), Stalling("beta")
    until = asyncio.get_running_loop().time() - 1

    _, error = await run([alpha, beta], context, health, until)

    assert isinstance(error, ProviderUnavailable) and not isinstance(error, OutOfTime)
    assert beta.started == []


def test_sent_only_once_the_upstream_took_the_job() -> None:
    assert stage_of(Progress(Stage.SUBMITTED, "Sending")) is None
    assert stage_of(Progress(Stage.SUBMITTED, "Sent", job_id="j")) == Stage.SUBMITTED
    assert stage_of(Progress(Stage.SIGNING_IN, "Signing in")) == Stage.SIGNING_IN
    assert stage_of(Progress(Stage.QUEUED, "Waiting for a free slot")) == Stage.QUEUED
