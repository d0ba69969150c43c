"""The library's front door, shared by the CLI and the bot: validate, run with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from providers.core.errors import InvalidOption, ProviderTimeout
from providers.core.provider import Kind, Provider, ProviderContext
from providers.core.types import EventStream, ImageRequest, Media, Progress, Stage
from providers.routing.registry import ModelEntry


def validate_request(entry: ModelEntry, request: ImageRequest) -> None:
    """Raises InvalidOption with a sentence a user can act on when a value does not fit."""
    if entry.options is None:
        raise InvalidOption(f"{entry.id} is not an image model.")
    entry.options.check(entry.id, request)


def generate_images(
    entry: ModelEntry, request: ImageRequest, context: ProviderContext
) -> EventStream:
    """Events of one image job: progress, previews, then one ImageResponse."""
    validate_request(entry, request)
    stream = in_slot(
        entry.provider, lambda: entry.provider.generate(entry.upstream, request, context)
    )
    return with_deadline(stream, context.settings.job_timeout, entry.provider.label)


def ask_vision(
    entry: ModelEntry, question: str, media: Sequence[Media], context: ProviderContext
) -> EventStream:
    """Events of one vision question: perhaps progress and TextDelta pieces, then a
    TextResponse."""
    if entry.kind != Kind.VISION:
        raise InvalidOption(f"{entry.id} is not a vision model.")
    stream = in_slot(
        entry.provider, lambda: entry.provider.ask(entry.upstream, question, media, context)
    )
    return with_deadline(stream, context.settings.job_timeout, entry.provider.label)


def resume_images(
    entry: ModelEntry, job: str, request: ImageRequest, context: ProviderContext
) -> EventStream | None:
    """Events of an image job submitted before a restart, or None when its provider cannot
    follow a job by its id."""
    stream = entry.provider.resume(entry.upstream, job, request, context)
    if stream is None:
        return None
    return with_deadline(
        in_slot(entry.provider, lambda: stream), context.settings.job_timeout, entry.provider.label
    )


async def in_slot(provider: Provider, start: Callable[[], EventStream]) -> EventStream:
    """``start()``'s events once the provider has a free slot; while it has none, one
    Progress(QUEUED) says the job waits for it."""
    if provider.slots.full:
        yield Progress(Stage.QUEUED, f"Waiting for a free slot at {provider.label}")
    async with provider.slots.taken(), contextlib.aclosing(start()) as stream:
        async for event in stream:
            yield event


async def with_deadline(stream: EventStream, seconds: float, label: str) -> EventStream:
    """Re-yields ``stream``'s events, raising ProviderTimeout once ``seconds`` have passed."""
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    event = await anext(stream)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise ProviderTimeout(
                    f"did not finish within {seconds:g} seconds", provider=label
                ) from exc
            yield event
    finally:
        await stream.aclose()
