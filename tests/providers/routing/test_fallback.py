"""Health and fallback: a dead provider is skipped, the job moves on, and it comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from providers import (
    Adjustment,
    AdjustmentCode,
    AuthError,
    ErrorCode,
    Event,
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    ModelSpec,
    Progress,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    Stage,
    Switched,
    TextResponse,
)
from providers.core.errors import Refused
from providers.routing.fallback import (
    AllFailed,
    adapt,
    ask_with_fallback,
    candidates,
    generate_with_fallback,
    parse_fallbacks,
    reason_sentence,
)
from providers.routing.health import (
    FAILURES_TO_TRIP,
    FIRST_COOL_DOWN,
    HealthBook,
    MemoryHealthStore,
    State,
)
from tests.helpers import provider_context

WIDE = ImageOptions(max_images=4, aspect_ratios=("1:1", "16:9", "21:9"), steps=(1, 50))
SQUARE = ImageOptions(max_images=1, aspect_ratios=("1:1", "3:2"), negative_prompt=False)


class Scripted(Provider):
    """A provider whose next jobs fail with the queued errors, then draw."""

    def __init__(self, name: str, options: ImageOptions = WIDE) -> None:
        self.name, self.label, self.options = name, name.upper(), options
        self.failures: list[ProviderError] = []
        self.requests: list[ImageRequest] = []
        self.questions: list[str] = []

    def offers(self) -> list[ModelSpec]:
        return [
            ModelSpec("draw", "up-draw", Kind.IMAGE, self.options),
            ModelSpec("other", "up-other", Kind.IMAGE, self.options),
            ModelSpec("see", "up-see", Kind.VISION),
        ]

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        self.requests.append(request)
        yield Progress(Stage.QUEUED, "queued", job_id=f"{self.name}-job")
        if self.failures:
            raise self.failures.pop(0)
        yield ImageResponse([b"png"], request.prompt, seed=1, model=upstream)

    async def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        self.questions.append(question)
        if self.failures:
            raise self.failures.pop(0)
        yield TextResponse(f"{self.name} says hi", upstream)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> HealthBook:
    return HealthBook(MemoryHealthStore(), clock)


def world() -> tuple[Registry, Scripted, Scripted, Scripted]:
    a, b, c = Scripted("alpha"), Scripted("beta", SQUARE), Scripted("gamma")
    return Registry([a, b, c]), a, b, c


async def drain(stream: EventStream) -> list[Event]:
    return [event async for event in stream]


def down(error_type: type[ProviderError] = ProviderUnavailable) -> ProviderError:
    return error_type(ErrorCode.UNREACHABLE, provider="ALPHA")


async def test_auto_tries_each_other_providers_default_in_order() -> None:
    registry, *_ = world()
    chosen = registry.resolve("alpha/other")
    chain = candidates(registry, chosen, parse_fallbacks("auto", registry, Kind.IMAGE))
    assert [e.id for e in chain] == ["alpha/other", "beta/draw", "gamma/draw"]
    assert parse_fallbacks("none", registry, Kind.IMAGE) == []
    listed = parse_fallbacks("gamma/other, alpha/draw", registry, Kind.IMAGE)
    assert [e.id for e in candidates(registry, chosen, listed)] == ["alpha/other", "gamma/other"]


async def test_a_failing_provider_hands_the_job_to_the_next(
    context: ProviderContext, health: HealthBook
) -> None:
    registry, a, b, _ = world()
    a.failures.append(down())
    chain = candidates(registry, registry.resolve("alpha/draw"), None)

    events = await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))

    switched = [e for e in events if isinstance(e, Switched)]
    assert [(e.from_model, e.to_model, e.reason.code, e.adjustments) for e in switched] == [
        ("alpha/draw", "beta/draw", ErrorCode.UNREACHABLE, ())
    ]
    assert reason_sentence(switched[0].reason, "ALPHA") == "ALPHA cannot be reached right now"
    assert isinstance(events[-1], ImageResponse) and events[-1].model == "up-draw"
    assert len(a.requests) == len(b.requests) == 1  # nobody was asked twice
    assert health.of("alpha").failures_in_a_row == 1
    assert health.of("beta").last_success is not None


@pytest.mark.parametrize(
    "error",
    [
        ProviderUnavailable(ErrorCode.TROUBLE_HTTP, status=500),
        ProviderTimeout(ErrorCode.TIMEOUT),
        RateLimited(ErrorCode.SLOW_DOWN),
        AuthError(ErrorCode.AUTH_REFUSED),
        ResponseError(ErrorCode.UNREADABLE_RESPONSE),
    ],
)
async def test_every_fault_of_the_provider_moves_on(
    context: ProviderContext, health: HealthBook, error: ProviderError
) -> None:
    registry, a, _, _ = world()
    a.failures.append(error)
    chain = candidates(registry, registry.resolve("alpha/draw"), None)
    events = await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))
    assert isinstance(events[-1], ImageResponse)
    assert health.of("alpha").state is State.FAILING


async def test_a_users_mistake_never_moves_on_nor_counts(
    context: ProviderContext, health: HealthBook
) -> None:
    registry, a, b, _ = world()
    chain = candidates(registry, registry.resolve("alpha/draw"), None)
    with pytest.raises(InvalidOption):
        await drain(generate_with_fallback(chain, ImageRequest("fox", n=9), context, health))
    a.failures.append(InvalidOption(ErrorCode.EMPTY_PROMPT))
    with pytest.raises(InvalidOption):
        await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))
    assert b.requests == []
    assert health.of("alpha").failures_in_a_row == 0


async def test_without_fallback_the_plain_error_comes_through(
    context: ProviderContext, health: HealthBook
) -> None:
    registry, a, _, _ = world()
    a.failures.append(down())
    chain = candidates(registry, registry.resolve("alpha/draw"), [])
    with pytest.raises(ProviderUnavailable, match="cannot be reached"):
        await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))


async def test_when_all_fail_one_error_lists_every_model(
    context: ProviderContext, health: HealthBook
) -> None:
    registry, a, b, c = world()
    for provider in (a, b, c):
        provider.failures.append(down())
    chain = candidates(registry, registry.resolve("alpha/draw"), None)
    with pytest.raises(AllFailed) as caught:
        await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))
    message = caught.value.user_message
    for model in ("alpha/draw", "beta/draw", "gamma/draw"):
        assert model in message


async def test_a_provider_that_keeps_failing_is_skipped_then_probed_then_back(
    context: ProviderContext, health: HealthBook, clock: Clock
) -> None:
    registry, a, _, _ = world()
    chain = candidates(registry, registry.resolve("alpha/draw"), None)
    a.failures.extend(down() for _ in range(FAILURES_TO_TRIP))
    for _ in range(FAILURES_TO_TRIP):
        await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))
    assert health.of("alpha").state is State.DOWN and health.is_down("alpha")

    events = await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))
    assert len(a.requests) == FAILURES_TO_TRIP  # skipped: the dead upstream was not asked
    assert isinstance(events[0], Switched) and events[0].reason.code is ErrorCode.DOWN
    assert reason_sentence(events[0].reason, "ALPHA") == "ALPHA is down"

    clock.now += FIRST_COOL_DOWN + 1
    a.failures.append(down())  # the probe fails: down again, for twice as long
    await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))
    assert len(a.requests) == FAILURES_TO_TRIP + 1
    assert health.of("alpha").cool_down == 2 * FIRST_COOL_DOWN
    clock.now += FIRST_COOL_DOWN + 1
    assert health.is_down("alpha")

    clock.now += FIRST_COOL_DOWN
    events = await drain(generate_with_fallback(chain, ImageRequest("fox"), context, health))
    assert not any(isinstance(e, Switched) for e in events)  # the probe drew: it is back
    assert health.of("alpha").state is State.UP


async def test_only_one_probe_at_a_time(health: HealthBook, clock: Clock) -> None:
    for _ in range(FAILURES_TO_TRIP):
        await health.failed("alpha", down(), 1.0)
    clock.now += FIRST_COOL_DOWN + 1
    assert health.admit("alpha")  # the probe
    assert not health.admit("alpha")  # everyone else waits for its outcome
    health.released("alpha")  # the probe was cancelled: the next job probes
    assert health.admit("alpha")


async def test_health_survives_a_restart_through_its_store(clock: Clock) -> None:
    store = MemoryHealthStore()
    book = HealthBook(store, clock)
    await book.succeeded("beta", 2.0)
    await book.succeeded("beta", 4.0)
    for _ in range(FAILURES_TO_TRIP):
        await book.failed("alpha", down(), 1.0)

    again = await HealthBook.open(store)
    assert again.of("alpha").state is State.DOWN
    assert again.of("alpha").last_error == "ALPHA: cannot be reached right now"
    assert again.of("alpha").last_error_code is ErrorCode.UNREACHABLE
    assert again.of("beta").success_rate == 1.0
    assert again.of("beta").typical_duration == 3.0


def test_adapting_a_request_to_a_smaller_model_says_what_changed() -> None:
    request = ImageRequest("fox", negative_prompt="fog", n=3, aspect_ratio="16:9", steps=20)
    adapted, notes = adapt(request, SQUARE)
    assert (adapted.n, adapted.aspect_ratio, adapted.steps, adapted.negative_prompt) == (
        1,
        "3:2",
        None,
        None,
    )
    assert tuple(map(str, notes)) == (
        "3:2 instead of 16:9",
        "1 image instead of 3",
        "its own default steps",
        "without the negative prompt",
    )
    assert adapt(ImageRequest("fox", aspect_ratio="21:9"), WIDE) == (
        ImageRequest("fox", aspect_ratio="21:9"),
        (),
    )


async def test_the_fallback_model_gets_the_adapted_request(
    context: ProviderContext, health: HealthBook
) -> None:
    registry, a, b, _ = world()
    a.failures.append(down())
    chain = candidates(registry, registry.resolve("alpha/draw"), None)
    request = ImageRequest("fox", n=2, aspect_ratio="21:9")
    events = await drain(generate_with_fallback(chain, request, context, health))
    (switched,) = [e for e in events if isinstance(e, Switched)]
    assert [str(note) for note in switched.adjustments] == [
        "3:2 instead of 21:9",
        "1 image instead of 2",
    ]
    assert b.requests == [ImageRequest("fox", n=1, aspect_ratio="3:2")]


async def test_questions_fall_back_too(context: ProviderContext, health: HealthBook) -> None:
    registry, a, _, _ = world()
    a.failures.append(down())
    chain = candidates(registry, registry.resolve("alpha/see", Kind.VISION), None)
    events = await drain(ask_with_fallback(chain, "what?", [], context, health))
    assert events[-1] == TextResponse("beta says hi", "up-see")


# -- edit models: pictures and strength ---------------------------------------------------------

EDIT_MANY = ImageOptions(max_images=4, min_pictures=1, max_pictures=4, strength=True)
EDIT_TWO = ImageOptions(min_pictures=1, max_pictures=2, strength=True)
EDIT_ONE = ImageOptions(min_pictures=1, max_pictures=1)


class Editing(Scripted):
    """A provider whose one model is an edit model with ``options``."""

    def offers(self) -> list[ModelSpec]:
        return [ModelSpec("kontext", "up-kontext", Kind.EDIT, self.options)]


def pictures(count: int) -> tuple[Media, ...]:
    return tuple(Media(f"picture {n}".encode(), f"{n}.png", "image/png") for n in range(count))


def editors() -> tuple[Registry, Editing, Editing, Editing]:
    a, b, c = Editing("alpha", EDIT_MANY), Editing("beta", EDIT_ONE), Editing("gamma", EDIT_TWO)
    return Registry([a, b, c]), a, b, c


def test_a_fallback_taking_fewer_pictures_keeps_the_first_ones_and_says_so() -> None:
    request = ImageRequest("swap the hats", images=pictures(3), strength=0.3)

    one, notes = adapt(request, EDIT_ONE)
    assert (one.images, one.strength) == (pictures(1), None)
    assert [note.code for note in notes] == [AdjustmentCode.ONE_PICTURE, AdjustmentCode.NO_STRENGTH]
    assert tuple(map(str, notes)) == ("your first picture only, of 3", "its own default strength")

    two, notes = adapt(request, EDIT_TWO)
    assert (two.images, two.strength) == (pictures(2), 0.3)
    assert [(note.code, str(note)) for note in notes] == [
        (AdjustmentCode.PICTURES, "your first 2 pictures, of 3")
    ]

    assert adapt(request, EDIT_MANY) == (request, ())


def test_strength_is_dropped_only_where_the_model_does_not_take_it() -> None:
    request = ImageRequest("bluer", images=pictures(1), strength=0.8)
    assert adapt(request, EDIT_TWO) == (request, ())
    adapted, notes = adapt(request, EDIT_ONE)
    assert adapted == ImageRequest("bluer", images=pictures(1))
    assert notes == (Adjustment(AdjustmentCode.NO_STRENGTH),)
    assert adapt(ImageRequest("bluer", images=pictures(1)), EDIT_ONE)[1] == ()


async def test_an_edit_falls_back_with_the_first_pictures_and_the_notes(
    context: ProviderContext, health: HealthBook
) -> None:
    registry, a, b, c = editors()
    a.failures.append(down())
    chain = candidates(registry, registry.resolve("alpha/kontext", Kind.EDIT), None)
    request = ImageRequest("swap the hats", images=pictures(3), strength=0.5)

    events = await drain(generate_with_fallback(chain, request, context, health))

    (switched,) = [e for e in events if isinstance(e, Switched)]
    assert (switched.from_model, switched.to_model) == ("alpha/kontext", "beta/kontext")
    assert [str(note) for note in switched.adjustments] == [
        "your first picture only, of 3",
        "its own default strength",
    ]
    assert a.requests == [request]
    assert b.requests == [ImageRequest("swap the hats", images=pictures(1))]
    assert c.requests == []
    assert isinstance(events[-1], ImageResponse)


@pytest.mark.parametrize(
    "refusal",
    [
        Refused(ErrorCode.MODERATION, provider="ALPHA"),
        Refused(ErrorCode.MODERATION_REASON, provider="ALPHA", reason="sexual content"),
    ],
)
async def test_a_refusal_by_the_chosen_model_ends_the_job_at_once(
    context: ProviderContext, health: HealthBook, refusal: Refused
) -> None:
    registry, a, b, c = editors()
    a.failures.append(refusal)
    chain = candidates(registry, registry.resolve("alpha/kontext", Kind.EDIT), None)
    request = ImageRequest("swap the hats", images=pictures(1))

    with pytest.raises(Refused) as caught:
        await drain(generate_with_fallback(chain, request, context, health))

    assert caught.value is refusal
    assert b.requests == c.requests == []  # no other model is asked
    assert health.of("alpha").failures_in_a_row == 0  # and it is not the provider's failure
    assert health.of("alpha").state is State.UP


async def test_a_refusal_by_a_fallback_model_stops_the_chain(
    context: ProviderContext, health: HealthBook
) -> None:
    registry, a, b, c = editors()
    a.failures.append(down())
    b.failures.append(Refused(ErrorCode.MODERATION, provider="BETA"))
    chain = candidates(registry, registry.resolve("alpha/kontext", Kind.EDIT), None)
    request = ImageRequest("swap the hats", images=pictures(2))

    stream = generate_with_fallback(chain, request, context, health)
    seen: list[Event] = []
    with pytest.raises(Refused) as caught:
        async for event in stream:
            seen.append(event)

    assert caught.value.user_message == "BETA: refused this request (its moderation flagged it)"

    assert [(e.from_model, e.to_model) for e in seen if isinstance(e, Switched)] == [
        ("alpha/kontext", "beta/kontext")
    ]
    assert c.requests == []  # gamma is never tried
    assert health.of("alpha").failures_in_a_row == 1  # alpha's own failure counts
    assert health.of("beta").failures_in_a_row == 0  # beta's refusal does not
