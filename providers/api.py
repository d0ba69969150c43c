"""The library's front door, shared by the CLI and the bot: validate, run with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .base import ImageProvider, ProviderContext, VisionProvider
from .errors import InvalidOption, ProviderTimeout
from .registry import ModelEntry
from .types import EventStream, ImageRequest, Media, Message


def validate_request(entry: ModelEntry, request: ImageRequest) -> None:
    """Raises InvalidOption with a sentence a user can act on when a value does not fit."""
    options = entry.options
    if options is None:
        raise InvalidOption(f"{entry.id} is not an image model.")
    if not request.prompt.strip():
        raise InvalidOption("The prompt is empty.")
    if not 1 <= request.n <= options.max_images:
        if options.max_images == 1:
            raise InvalidOption(f"{entry.id} makes one image at a time.")
        raise InvalidOption(f"{entry.id} makes 1 to {options.max_images} images at a time.")
    if request.aspect_ratio is not None and request.aspect_ratio not in options.aspect_ratios:
        allowed = ", ".join(options.aspect_ratios)
        raise InvalidOption(f"{entry.id} supports the aspect ratios {allowed}.")
    if request.steps is not None:
        if options.steps is None:
            raise InvalidOption(f"{entry.id} does not take a number of steps.")
        low, high = options.steps
        if not low <= request.steps <= high:
            raise InvalidOption(f"Steps for {entry.id} must be between {low} and {high}.")
    if request.cfg is not None:
        if options.cfg is None:
            raise InvalidOption(f"{entry.id} does not take a guidance scale.")
        low_cfg, high_cfg = options.cfg
        if not low_cfg <= request.cfg <= high_cfg:
            raise InvalidOption(
                f"Guidance for {entry.id} must be between {low_cfg:g} and {high_cfg:g}."
            )
    if request.negative_prompt and not options.negative_prompt:
        raise InvalidOption(f"{entry.id} does not take a negative prompt.")
    if request.seed is not None and not options.seed:
        raise InvalidOption(f"{entry.id} does not take a seed.")


def generate_images(
    entry: ModelEntry, request: ImageRequest, context: ProviderContext
) -> EventStream:
    """Events of one image job: progress, previews, then one ImageResponse."""
    provider = entry.provider
    if not issubclass(provider, ImageProvider):
        raise InvalidOption(f"{entry.id} is not an image model.")
    validate_request(entry, request)
    messages: list[Message] = [{"role": "user", "content": request.prompt}]
    stream = provider.create_async_generator(
        entry.upstream, messages, context=context, **provider.image_kwargs(request)
    )
    return with_deadline(stream, context.settings.job_timeout, provider.label)


def ask_vision(
    entry: ModelEntry, question: str, media: Sequence[Media], context: ProviderContext
) -> EventStream:
    """Events of one vision question: a TextResponse (perhaps after progress)."""
    provider = entry.provider
    if not issubclass(provider, VisionProvider):
        raise InvalidOption(f"{entry.id} is not a vision model.")
    messages: list[Message] = [{"role": "user", "content": question}]
    stream = provider.create_async_generator(
        entry.upstream, messages, context=context, **provider.vision_kwargs(media)
    )
    return with_deadline(stream, context.settings.job_timeout, provider.label)


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
