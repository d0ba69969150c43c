"""The library's front door, shared by the CLI and the bot: validate, run with a deadline.

Each run is cut at the provider's own limit (``JOB_TIMEOUT`` after it started) or at ``until``,
the whole job's deadline (a loop time), whichever comes first: a job that moves on to a
fallback model gives it only what is left (see providers.routing.fallback)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from providers.core.errors import ErrorCode, InvalidOption, ProviderTimeout
from providers.core.provider import Kind, Provider, ProviderContext
from providers.core.types import EventStream, ImageRequest, Media, Progress, Stage
from providers.routing.registry import ModelEntry


def validate_request(entry: ModelEntry, request: ImageRequest) -> None:
    """Raises InvalidOption with a sentence a user can act on when a value does not fit."""
    if entry.options is None:
        raise InvalidOption(ErrorCode.NOT_IMAGE_MODEL, model=entry.id)
    entry.options.check(entry.id, request)


def generate_images(
    entry: ModelEntry,
    request: ImageRequest,
    context: ProviderContext,
    until: float | None = None,
) -> EventStream:
    """Events of one image job: progress, previews, then one ImageResponse (cut at ``until``,
    the whole job's deadline, when given: see :func:`with_deadline`)."""
    validate_request(entry, request)
    stream = in_slot(
        entry.provider, lambda: entry.provider.generate(entry.upstream, request, context)
    )
    return with_deadline(stream, context.settings.job_timeout, entry, until)


def ask_vision(
    entry: ModelEntry,
    question: str,
    media: Sequence[Media],
    context: ProviderContext,
    until: float | None = None,
) -> EventStream:
    """Events of one vision question: perhaps progress and TextDelta pieces, then a
    TextResponse."""
    if entry.kind != Kind.VISION:
        raise InvalidOption(ErrorCode.NOT_VISION_MODEL, model=entry.id)
    stream = in_slot(
        entry.provider, lambda: entry.provider.ask(entry.upstream, question, media, context)
    )
    return with_deadline(stream, context.settings.job_timeout, entry, until)


def resume_images(
    entry: ModelEntry,
    job: str,
    request: ImageRequest,
    context: ProviderContext,
    until: float | None = None,
) -> EventStream | None:
    """Events of an image job submitted before a restart, or None when its provider cannot
    follow a job by its id."""
    stream = entry.provider.resume(entry.upstream, job, request, context)
    if stream is None:
        return None
    return with_deadline(
        in_slot(entry.provider, lambda: stream), context.settings.job_timeout, entry, until
    )


class OutOfTime(ProviderTimeout):
    """The whole job's deadline passed while ``model`` worked on it (``seconds``: the time it
    had): ``stage`` is where the job stood (None: the upstream had not taken it yet),
    ``queue_position`` its place in the upstream's queue when known. Never a reason to move on
    to another model: no time is left."""

    def __init__(
        self,
        model: str,
        stage: Stage | None,
        *,
        provider: str,
        seconds: float,
        queue_position: int | None = None,
    ) -> None:
        super().__init__(
            ErrorCode.DEADLINE,
            provider=provider,
            seconds=round(seconds, 1),
            model=model,
            stage=stage.value if stage else "",
        )
        self.model = model
        self.stage = stage
        self.queue_position = queue_position


def stage_of(event: Progress) -> Stage | None:
    """Where a job stands after ``event``: SUBMITTED ("sent") only once the upstream has taken
    the job (an accepted submit carries its id there); a SUBMITTED without an id means the
    request is on its way, not yet taken (None)."""
    if event.stage == Stage.SUBMITTED and event.job_id is None:
        return None
    return event.stage


async def in_slot(provider: Provider, start: Callable[[], EventStream]) -> EventStream:
    """``start()``'s events once the provider has a free slot; while it has none, one
    Progress(QUEUED) says the job waits for it."""
    if provider.slots.full:
        yield Progress(Stage.QUEUED, f"Waiting for a free slot at {provider.label}")
    async with provider.slots.taken(), contextlib.aclosing(start()) as stream:
        async for event in stream:
            yield event


async def with_deadline(
    stream: EventStream, seconds: float, entry: ModelEntry, until: float | None = None
) -> EventStream:
    """Re-yields ``stream``'s events, raising ProviderTimeout once ``seconds`` have passed, or
    OutOfTime (saying what the job waited for) when ``until`` (a loop time) comes first."""
    label = entry.provider.label
    began = asyncio.get_running_loop().time()
    own = began + seconds
    deadline = own if until is None else min(own, until)
    stage: Stage | None = None
    position: int | None = None
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    event = await anext(stream)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                if deadline < own:
                    raise OutOfTime(
                        entry.id,
                        stage,
                        provider=label,
                        seconds=deadline - began,
                        queue_position=position,
                    ) from exc
                raise ProviderTimeout(ErrorCode.DEADLINE, provider=label, seconds=seconds) from exc
            if isinstance(event, Progress):
                stage, position = stage_of(event), event.queue_position
            yield event
    finally:
        await stream.aclose()
