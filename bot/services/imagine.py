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
    UnknownModel,
    generate_images,
    validate_request,
)

from .. import render
from ..delivery import fetch, prepare_all, send_pictures
from ..flags import ImagineArgs
from ..jobs import Job
from ..preview import LivePreview
from ..runtime import Runtime
from ..status import LiveStatus
from ..storage import JobStatus
from . import models
from .common import Rejected, admit, supervise
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
    prefs = await runtime.storage.get_prefs(chat_id)
    request = ImageRequest(
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        n=args.n or prefs.image_count or 1,
        seed=args.seed,
        aspect_ratio=args.aspect_ratio or prefs.aspect_ratio,
        steps=args.steps,
        cfg=args.cfg,
    )
    if args.n is None and entry.options and request.n > entry.options.max_images:
        request = dataclasses.replace(request, n=entry.options.max_images)
    try:
        validate_request(entry, request)
    except InvalidOption as error:
        raise Rejected(str(error)) from None
    return entry, request


async def submit(runtime: Runtime, bot: Bot, command: Message, args: ImagineArgs) -> None:
    """Accepts an /imagine command: replies with a status message and starts the job.

    Raises Rejected (nothing stored, nothing started) when the request cannot be served.
    """
    chat_id = command.chat_id
    user_id = command.from_user.id if command.from_user else chat_id
    entry, request = await build_request(runtime, chat_id, args)
    job = Job(chat_id=chat_id, user_id=user_id)
    admit(runtime, job)
    try:
        job_id = await runtime.storage.create_job(
            kind="imagine",
            chat_id=chat_id,
            user_id=user_id,
            command_message_id=command.message_id,
            prompt=request.prompt,
            model=entry.id,
            options=dataclasses.asdict(request),
        )
        if job_id is None:
            # Telegram delivered this command again after a restart; it was handled then.
            runtime.jobs.discard(job)
            return
        job.id = job_id
        status_message = await command.reply_text(f"⏳ {entry.id}: starting…", do_quote=True)
    except BaseException:
        runtime.jobs.discard(job)
        if job.id:
            await runtime.storage.update_job(job.id, status=JobStatus.FAILED, error="not started")
        raise
    await runtime.storage.update_job(job_id, status_message_id=status_message.message_id)
    status = LiveStatus(bot, status_message, runtime.settings.status_edit_interval)
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
                result = await _follow(runtime, job, entry, request, status, preview, clock)
                status.show(render.delivering_text(entry.id, len(result.images), clock.elapsed))
                blobs = await fetch(result.images, runtime.providers.http, label)
                pictures = await prepare_all(blobs)
                caption = render.caption(request.prompt, entry.id, result.seed)
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
) -> ImageResponse:
    """Consumes the provider's events, keeping the status current; returns the final images."""
    stage, note = Stage.SUBMITTED, ""

    def refresh() -> None:
        status.show(render.progress_text(entry.id, stage, clock.elapsed, note))

    refresh()
    async with ticker(TICK_SECONDS, refresh):
        async for event in generate_images(entry, request, runtime.providers):
            if isinstance(event, Progress):
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
                    raise ProviderError("returned no images", provider=entry.provider.label)
                return event
    raise ProviderError("finished without images", provider=entry.provider.label)
