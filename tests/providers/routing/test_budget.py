"""A provider over its daily budget: skipped like a down one until the time the host names,
with its own reason, and its price and budget read from providers.toml."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from providers import (
    ErrorCode,
    Event,
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Kind,
    ModelSpec,
    Provider,
    ProviderContext,
    ProviderSettings,
    ProviderUnavailable,
    Registry,
    Switched,
)
from providers.core.entry import ConfigError
from providers.routing.config import build_registry
from providers.routing.fallback import AllFailed, candidates, generate_with_fallback
from providers.routing.health import FAILURES_TO_TRIP, HealthBook, MemoryHealthStore, State
from tests.helpers import provider_context

MIDNIGHT = 1_000_000.0


class Painter(Provider):
    def __init__(self, name: str) -> None:
        self.name, self.label = name, name.upper()
        self.drawn = 0

    def offers(self) -> Sequence[ModelSpec]:
        return [ModelSpec("draw", "up-draw", Kind.IMAGE, ImageOptions())]

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        self.drawn += 1
        yield ImageResponse([b"png"], request.prompt, model=upstream)


class Clock:
    def __init__(self) -> None:
        self.now = MIDNIGHT - 3600

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> HealthBook:
    return HealthBook(MemoryHealthStore(), clock)


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as made:
        yield made


async def drain(stream: EventStream) -> list[Event]:
    return [event async for event in stream]


def test_over_budget_until_the_time_given(health: HealthBook, clock: Clock) -> None:
    assert health.admit("fal") and health.budget_until("fal") is None
    health.over_budget("fal", MIDNIGHT)
    assert health.is_over_budget("fal") and not health.admit("fal")
    assert health.budget_until("fal") == MIDNIGHT
    assert health.of("fal").state is State.UP  # not a failure: its record is untouched
    assert health.admit("replicate")
    clock.now = MIDNIGHT
    assert not health.is_over_budget("fal") and health.admit("fal")
    assert health.budget_until("fal") is None


async def test_the_fallback_skips_it_saying_over_budget(
    context: ProviderContext, health: HealthBook
) -> None:
    fal, replicate = Painter("fal"), Painter("replicate")
    registry = Registry([fal, replicate])
    health.over_budget("fal", MIDNIGHT)
    chain = candidates(registry, registry.resolve("fal/draw"), None)

    events = await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))

    (switched,) = [e for e in events if isinstance(e, Switched)]
    assert (switched.from_model, switched.to_model) == ("fal/draw", "replicate/draw")
    assert switched.reason.code is ErrorCode.OVER_BUDGET
    assert switched.reason.user_message == "FAL: has spent its budget for today"
    assert isinstance(events[-1], ImageResponse)
    assert (fal.drawn, replicate.drawn) == (0, 1)


async def test_down_and_over_budget_are_told_apart(
    context: ProviderContext, health: HealthBook
) -> None:
    registry = Registry([Painter("fal"), Painter("replicate")])
    health.over_budget("fal", MIDNIGHT)
    for _ in range(FAILURES_TO_TRIP):
        await health.failed("replicate", ProviderUnavailable(ErrorCode.UNREACHABLE), 1.0)
    chain = candidates(registry, registry.resolve("fal/draw"), None)

    with pytest.raises(AllFailed) as failed:
        await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))

    assert [(entry.id, error.code) for entry, error in failed.value.tried] == [
        ("fal/draw", ErrorCode.OVER_BUDGET),
        ("replicate/draw", ErrorCode.DOWN),
    ]
    assert "fal/draw: FAL has spent its budget for today" in str(failed.value)


def write_toml(tmp_path: Path, text: str) -> ProviderSettings:
    path = tmp_path / "providers.toml"
    path.write_text(text, encoding="utf-8")
    return ProviderSettings(_env_file=None, data_dir=tmp_path, providers_file=path)  # type: ignore[call-arg]


def test_an_entry_sets_its_price_and_daily_budget(tmp_path: Path) -> None:
    settings = write_toml(
        tmp_path,
        "[[provider]]\nname = 'paid'\ntype = 'openai'\ncost = 4\nmax_daily_cost = 500\n"
        "image_models = ['m']\n"
        "[[provider]]\nname = 'plain'\ntype = 'openai'\nimage_models = ['m']\n",
    )
    providers = {p.name: p for p in build_registry(settings, environ={}).providers}
    assert (providers["paid"].cost, providers["paid"].max_daily_cost) == (4, 500)
    assert (providers["plain"].cost, providers["plain"].max_daily_cost) == (None, None)
    assert (providers["arta"].cost, providers["arta"].max_daily_cost) == (None, None)


@pytest.mark.parametrize(
    ("line", "key"), [("cost = -1", "cost"), ("max_daily_cost = 0", "max_daily_cost")]
)
def test_a_negative_price_or_an_empty_budget_is_refused(
    tmp_path: Path, line: str, key: str
) -> None:
    settings = write_toml(
        tmp_path, f"[[provider]]\nname = 'paid'\ntype = 'openai'\n{line}\nimage_models = ['m']\n"
    )
    with pytest.raises(ConfigError, match=key) as error:
        build_registry(settings, environ={})
    assert "\n" not in str(error.value)
