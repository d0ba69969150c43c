"""/imagine as a service: validate, queue, follow the provider's events, deliver, record."""

from __future__ import annotations

import dataclasses
import logging

from telegram import Bot, Message

from providers import (
    ImagePreview,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    ModelEntry,
    Progress,
    ProviderError,
    Stage,
    Switched,
    UnknownModel,
    validate_request,
)
from providers.fallback import generate_with_fallback

from .. import render
from ..delivery import fetch, prepare_all, send_pictures
from ..flags import ImagineArgs
from ..jobs import Job
from ..preview import LivePreview
from ..runtime import Runtime
from ..status import LiveStatus
from . import models
from .common import Rejected, open_job, supervise
from .progress import Clock, chat_action, ticker

log = logging.getLogger(__name__)

TICK_SECONDS = 5.0


async def build_request(
    runtime: Runtime, chat_id: int, args: ImagineArgs
) -> tuple[ModelEntry, ImageRequest]:
    """The model and provider-neutral request for these arguments, or Rejected with the reason."""
    try:
        entry = (
            runtime.registry.resolve(args.model, Kind.IMAGE)
            if args.model
            else await models.current(runtime, chat_id, Kind.IMAGE)
        )
    except UnknownModel as error:
        raise Rejected(f"{error} Send /model to see the choices.") from None
    request = ImageRequest(
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        n=args.n or 1,
        seed=args.seed,
        aspect_ratio=args.aspect_ratio,
        steps=args.steps,
        cfg=args.cfg,
    )
    try:
        validate_request(entry, request)
    except InvalidOption as error:
        raise Rejected(str(error)) from None
    return entry, request


async def submit(runtime: Runtime, bot: Bot, command: Message, args: ImagineArgs) -> None:
    """Accepts an /imagine command: replies with a status message and starts the job.

    Raises Rejected (nothing stored, nothing started) when the request cannot be served.
    """
    entry, request = await build_request(runtime, command.chat_id, args)
    opened = await open_job(
        runtime,
        bot,
        command,
        kind="imagine",
        prompt=request.prompt,
        model_id=entry.id,
        options=dataclasses.asdict(request),
        waiting=f"⏳ {entry.id}: starting…",
    )
    if opened is not None:
        job, status = opened
        runtime.jobs.start(job, lambda j: _run(runtime, bot, command, j, entry, request, status))


async def _run(
    runtime: Runtime,
    bot: Bot,
    command: Message,
    job: Job,
    entry: ModelEntry,
    request: ImageRequest,
    status: LiveStatus,
) -> None:
    label = entry.provider.label
    job.on_position = lambda position: status.show(render.waiting_text(entry.id, position))

    async def work(clock: Clock) -> None:
        preview = LivePreview(bot, job.chat_id, command.message_id, runtime.providers.http, label)
        try:
            async with chat_action(bot, job.chat_id, "upload_photo"):
                result, drawn = await _follow(runtime, job, entry, request, status, preview, clock)
                status.show(render.delivering_text(drawn.id, len(result.images), clock.elapsed))
                blobs = await fetch(result.images, runtime.providers.http, drawn.provider.label)
                pictures = await prepare_all(blobs)
                caption = render.caption(request.prompt, drawn.id, result.seed, instead_of=entry.id)
                await send_pictures(bot, job.chat_id, command.message_id, pictures, caption)
        finally:
            await preview.remove()

    await supervise(
        runtime,
        job,
        status,
        kind="imagine",
        model_id=entry.id,
        work=work,
        undeliverable="I could not send the images to this chat.",
    )


async def _follow(
    runtime: Runtime,
    job: Job,
    entry: ModelEntry,
    request: ImageRequest,
    status: LiveStatus,
    preview: LivePreview,
    clock: Clock,
) -> tuple[ImageResponse, ModelEntry]:
    """Consumes the provider's events, keeping the status current; returns the final images and
    the model that drew them (a fallback when the chosen model's provider failed)."""
    stage, note, notice, drawing = Stage.SUBMITTED, "", "", entry

    def refresh() -> None:
        status.show(notice + render.progress_text(drawing.id, stage, clock.elapsed, note))

    refresh()
    events = generate_with_fallback(
        runtime.candidates(entry), request, runtime.providers, runtime.health
    )
    async with ticker(TICK_SECONDS, refresh):
        async for event in events:
            if isinstance(event, Switched):
                drawing = runtime.registry.resolve(event.to_model)
                stage, note, notice = Stage.SUBMITTED, "", render.switched_text(event) + "\n"
                refresh()
            elif isinstance(event, Progress):
                stage = event.stage
                if event.job_id:
                    await runtime.storage.update_job(job.id, upstream_job_id=event.job_id)
                refresh()
            elif isinstance(event, ImagePreview):
                stage, note = Stage.GENERATING, "preview below"
                refresh()
                if event.images:
                    preview.show(event.images[0])
            elif isinstance(event, ImageResponse):
                if not event.images:
                    raise ProviderError("returned no images", provider=drawing.provider.label)
                return event, drawing
    raise ProviderError("finished without images", provider=drawing.provider.label)
