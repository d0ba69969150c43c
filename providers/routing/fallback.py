"""A job that keeps going when its provider dies: the chosen model first, then the fallbacks.

``FALLBACK_IMAGE_MODELS`` / ``FALLBACK_VISION_MODELS`` name the models tried, in order, when the
chosen model's provider is down or fails for reasons of its own; ``auto`` means the default model
of every other provider offering that kind, in registry (/providers) order, and ``none`` turns
fallback off. A provider is never tried twice in one job, so an upstream job is never submitted
twice; a user's mistake never moves the job on.

A job may be given a deadline (``until``, a loop time: the bot's ``JOB_DEADLINE``): every model
tried shares it, so a fallback gets what is left, and once it passes the job ends with
OutOfTime (saying what it waited for) instead of moving on.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from providers.core.errors import (
    Adjustment,
    AdjustmentCode,
    ErrorCode,
    ProviderError,
    ProviderUnavailable,
    Refused,
    ResponseError,
)
from providers.core.provider import Kind, ProviderContext
from providers.core.types import (
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Media,
    Switched,
    TextResponse,
)
from providers.routing.api import OutOfTime, ask_vision, generate_images
from providers.routing.health import HealthBook, counts_against_provider
from providers.routing.registry import ModelEntry, Registry

AUTO, NONE = "auto", "none"


class AllFailed(ProviderError):
    """Every candidate model was down or failed; the message lists each with its reason.

    ``tried`` keeps each model with its provider's failure, so each can be worded again."""

    def __init__(self, tried: Sequence[tuple[ModelEntry, ProviderError]]) -> None:
        listed = "; ".join(
            f"{entry.id}: {reason_sentence(error, entry.provider.label)}" for entry, error in tried
        )
        super().__init__(ErrorCode.ALL_FAILED, listed=listed)
        self.tried = list(tried)


def parse_fallbacks(value: str, registry: Registry, kind: Kind) -> list[ModelEntry] | None:
    """The models a FALLBACK_* setting names; None for ``auto``; UnknownModel for a bad id."""
    words = [w.strip() for w in value.split(",") if w.strip()]
    if [w.lower() for w in words] == [AUTO]:
        return None
    if [w.lower() for w in words] in ([NONE], []):
        return []
    return [registry.resolve(word, kind) for word in words]


def candidates(
    registry: Registry, chosen: ModelEntry, fallbacks: list[ModelEntry] | None
) -> list[ModelEntry]:
    """``chosen``, then the fallbacks (``None``: each other provider's default model of that
    kind), at most one model per provider."""
    if fallbacks is None:
        defaults = (registry.default_of(p, chosen.kind) for p in registry.providers)
        fallbacks = [entry for entry in defaults if entry is not None]
    chain = [chosen]
    for entry in fallbacks:
        if all(entry.provider is not seen.provider for seen in chain):
            chain.append(entry)
    return chain


def generate_with_fallback(
    chain: Sequence[ModelEntry],
    request: ImageRequest,
    context: ProviderContext,
    health: HealthBook,
    until: float | None = None,
) -> EventStream:
    """The events of the first model in ``chain`` that draws the picture, with a Switched event
    each time the job moves on. Raises the provider's own error when there is nothing to move on
    to, AllFailed (listing every model) when several were tried, and OutOfTime once ``until``
    (the whole job's deadline, a loop time) has passed."""

    def start(entry: ModelEntry, chosen: bool) -> tuple[EventStream, tuple[Adjustment, ...]]:
        if chosen:
            return generate_images(entry, request, context, until), ()
        assert entry.options is not None
        adapted, notes = adapt(request, entry.options)
        return generate_images(entry, adapted, context, until), notes

    return _first_that_works(chain, start, health, until)


def ask_with_fallback(
    chain: Sequence[ModelEntry],
    question: str,
    media: Sequence[Media],
    context: ProviderContext,
    health: HealthBook,
    until: float | None = None,
) -> EventStream:
    """Like :func:`generate_with_fallback`, for a question about images."""

    def start(entry: ModelEntry, chosen: bool) -> tuple[EventStream, tuple[Adjustment, ...]]:
        return ask_vision(entry, question, media, context, until), ()

    return _first_that_works(chain, start, health, until)


Starter = Callable[[ModelEntry, bool], tuple[EventStream, tuple[Adjustment, ...]]]


async def _first_that_works(
    chain: Sequence[ModelEntry], start: Starter, health: HealthBook, until: float | None = None
) -> EventStream:
    tried: list[tuple[ModelEntry, ProviderError]] = []
    last_error: ProviderError | None = None
    for entry in chain:
        chosen, name = entry is chain[0], entry.provider.name
        if tried and until is not None and asyncio.get_running_loop().time() >= until:
            break  # no time left for another model: the failures so far are the answer
        if not health.admit(name):
            code = ErrorCode.OVER_BUDGET if health.is_over_budget(name) else ErrorCode.DOWN
            tried.append((entry, ProviderUnavailable(code, provider=entry.provider.label)))
            continue
        began = time.monotonic()
        try:
            stream, notes = start(entry, chosen)
            if tried:
                yield Switched(tried[-1][0].id, entry.id, tried[-1][1], notes)
            async with contextlib.aclosing(stream):
                async for event in stream:
                    if isinstance(event, ImageResponse | TextResponse):
                        # The consumer may stop reading at the result: count it first.
                        await health.succeeded(name, time.monotonic() - began)
                        yield event
                        return
                    yield event
        except OutOfTime as error:
            # A model that had the whole job's time failed it; one that got what was left of
            # it after another model's failure is not blamed.
            if tried:
                health.released(name)
            else:
                await health.failed(name, error, time.monotonic() - began)
            raise
        except ProviderError as error:
            if not counts_against_provider(error):
                health.released(name)
                if chosen or isinstance(error, Refused):
                    raise  # about what was asked: no other model would do better
            else:
                await health.failed(name, error, time.monotonic() - began)
            tried.append((entry, error))
            last_error = error
            continue
        except BaseException:
            health.released(name)
            raise
        tried.append((entry, ResponseError(ErrorCode.NO_RESULT, provider=entry.provider.label)))
    if len(tried) == 1 and last_error is not None:
        raise last_error
    raise AllFailed(tried)


def reason_sentence(error: ProviderError, label: str) -> str:
    """ "ARTA cannot be reached right now": the error's sentence with the provider named
    (``label`` when the error does not name one)."""
    text = str(error).rstrip(".")
    label = error.provider or label
    return text if text.startswith(label) else f"{label} {text}"


def adapt(
    request: ImageRequest, options: ImageOptions
) -> tuple[ImageRequest, tuple[Adjustment, ...]]:
    """``request`` changed only where ``options`` cannot take it, and a note for each change."""
    notes: list[Adjustment] = []
    changes: dict[str, object] = {}
    wanted = request.aspect_ratio
    if wanted is not None and wanted not in options.aspect_ratios:
        nearest = min(options.aspect_ratios, key=lambda ratio: _distance(ratio, wanted))
        changes["aspect_ratio"] = nearest
        notes.append(Adjustment(AdjustmentCode.RATIO, {"ratio": nearest, "wanted": wanted}))
    if request.n > options.max_images:
        changes["n"] = options.max_images
        code = AdjustmentCode.ONE_IMAGE if options.max_images == 1 else AdjustmentCode.IMAGES
        notes.append(Adjustment(code, {"count": options.max_images, "wanted": request.n}))
    for field, allowed in (("steps", options.steps), ("cfg", options.cfg)):
        value = getattr(request, field)
        if value is not None and (allowed is None or not allowed[0] <= value <= allowed[1]):
            changes[field] = None
            default = (
                AdjustmentCode.DEFAULT_GUIDANCE if field == "cfg" else AdjustmentCode.DEFAULT_STEPS
            )
            notes.append(Adjustment(default))
    if request.negative_prompt and not options.negative_prompt:
        changes["negative_prompt"] = None
        notes.append(Adjustment(AdjustmentCode.NO_NEGATIVE_PROMPT))
    if request.seed is not None and not options.seed:
        changes["seed"] = None
        notes.append(Adjustment(AdjustmentCode.RANDOM_SEED))
    wanted_pictures = len(request.images)
    if wanted_pictures > options.max_pictures >= 1:
        changes["images"] = request.images[: options.max_pictures]
        code = AdjustmentCode.ONE_PICTURE if options.max_pictures == 1 else AdjustmentCode.PICTURES
        notes.append(Adjustment(code, {"count": options.max_pictures, "wanted": wanted_pictures}))
    if request.strength is not None and not options.strength:
        changes["strength"] = None
        notes.append(Adjustment(AdjustmentCode.NO_STRENGTH))
    return replace(request, **changes), tuple(notes)  # type: ignore[arg-type]


def _distance(ratio: str, wanted: str) -> float:
    return abs(math.log(_value(ratio) / _value(wanted)))


def _value(ratio: str) -> float:
    width, _, height = ratio.partition(":")
    try:
        return float(width) / float(height)
    except (ValueError, ZeroDivisionError):
        return 1.0
