"""/imagine as a service: validate, then draw: the provider's events -> status -> delivery.

An edit (bot.jobs.edit) is the same job bringing pictures: they are fetched and fitted to the
model first, and stored as file references (never bytes) so that a restart can fetch them again.

The job's life around it (queue, status message, outcome, restarts) is bot.lifecycle's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from telegram import Bot, Message

from bot.i18n import ENGLISH, N_, Translator, translator
from bot.i18n.errors import sentence, switched_parts, unknown_model
from bot.jobs import billing, chat_settings
from bot.jobs.active import ActiveJob, Order, Work
from bot.jobs.flags import ImagineArgs
from bot.jobs.life import MAX_RUNS, RESENDING
from bot.jobs.life import submit as start_job
from bot.jobs.photos import PICTURES, PhotoRef, fitted_pictures, refs_in
from bot.jobs.progress import ticker
from bot.jobs.rejected import Rejected
from bot.jobs.result_buttons import edit_query, keyboard
from bot.pictures.fetch import fetch_bytes
from bot.pictures.prepare import NotAPicture, Picture, prepare
from bot.runtime import Runtime, models
from bot.storage.outbox import Buttons
from bot.storage.records import JobRow, JobStatus
from bot.telegram import render
from bot.telegram.chat_action import chat_action
from bot.telegram.delivery import Look
from bot.telegram.preview import PREVIEW, LivePreview
from providers import (
    ErrorCode,
    EventStream,
    ImagePreview,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    ModelEntry,
    Progress,
    ProviderError,
    ResponseError,
    Stage,
    Switched,
    UnknownModel,
    validate_request,
)
from providers.routing.api import OutOfTime, resume_images, stage_of
from providers.routing.fallback import generate_with_fallback

log = logging.getLogger(__name__)

TICK_SECONDS = 5.0
SEED_RANGE = 2**31  # a seed every upstream takes (Gradio sliders stop at 2**31 - 1)
EDIT = "edit"  # the kind of a job that changes pictures the user brought
FETCHING = N_("📥 {model}: fetching your pictures…")
FIRST_FRAME = N_("ℹ️ Your picture moves: I used its first frame.")
REDRAWING = N_("🔁 The bot restarted; drawing this again with the same seed…")
FOLLOWING = N_("🔁 The bot restarted; picking up the picture where it was…")
SEE_CHOICES = N_("Send /model to see the choices.")
# How the job's results are shown (/settings), kept beside its request in the stored options.
SPOILER = "spoiler"
CAPTION_ABOVE = "caption_above"


@dataclass(frozen=True)
class Built:
    """What an /imagine will draw: the model, the request, how the results are shown, and
    notes (in the user's language) about chat settings the model could not take."""

    entry: ModelEntry
    request: ImageRequest
    look: chat_settings.ChatSettings
    notes: list[str]
    pictures: tuple[PhotoRef, ...] = ()
    """An edit's input pictures (the request itself carries none until the job fetches them)."""

    @property
    def kind(self) -> str:
        return EDIT if self.pictures else "imagine"


async def build_request(runtime: Runtime, chat_id: int, args: ImagineArgs, tr: Translator) -> Built:
    """The model and provider-neutral request for these arguments, or Rejected with the reason.

    Values the flags leave open come from the chat's /settings (adapted to the model, with a
    note). Without ``--seed`` the bot picks the seed itself (where the model takes one), so a
    job cut short by a restart can be drawn again the same.
    """
    try:
        entry = (
            runtime.registry.resolve(args.model, Kind.IMAGE)
            if args.model
            else await models.current(runtime, chat_id, Kind.IMAGE)
        )
    except UnknownModel as error:
        raise Rejected(f"{unknown_model(tr, error)} {tr.gettext(SEE_CHOICES)}") from None
    look = await chat_settings.load(runtime, chat_id)
    applied = chat_settings.apply(look, args, entry.id, entry.options, tr)
    args = applied.args
    request = args.request()
    try:
        validate_request(entry, request)
    except InvalidOption as error:
        raise Rejected(sentence(tr, error)) from None
    if request.seed is None and entry.options is not None and entry.options.seed:
        request = dataclasses.replace(request, seed=secrets.randbelow(SEED_RANGE))
    return Built(entry, request, look, applied.notes)


async def submit(
    runtime: Runtime, bot: Bot, command: Message, args: ImagineArgs, tr: Translator
) -> None:
    """Accepts an /imagine command: the job replies (in ``tr``'s language) with a status message
    and draws.

    Raises Rejected (nothing stored, nothing started) when the request cannot be served.
    """
    built = await build_request(runtime, command.chat_id, args, tr)
    if built.notes:
        await command.reply_text("\n".join(f"ℹ️ {note}" for note in built.notes))
    await start(runtime, bot, command, built, tr)


async def start(
    runtime: Runtime,
    bot: Bot,
    command: Message,
    built: Built,
    tr: Translator,
    *,
    user_id: int | None = None,
) -> None:
    """Starts drawing ``built`` in answer to ``command`` (a message the bot wrote for
    ``user_id`` after a button press, or the user's own command); Rejected at the user's cap."""
    entry, request = built.entry, built.request
    order = Order.of(
        command,
        kind=built.kind,
        prompt=request.prompt,
        model_id=entry.id,
        options={
            **stored_options(request),
            PICTURES: [ref.as_options() for ref in built.pictures],
            SPOILER: built.look.spoiler,
            CAPTION_ABOVE: built.look.caption_above,
        },
        language=tr.language,
        user_id=user_id,
    )
    waiting = render.starting_text(tr, entry.id)
    await start_job(runtime, bot, order, waiting, drawing(entry, request))


def drawing(entry: ModelEntry, request: ImageRequest, accepted: Accepted | None = None) -> Work:
    """The work of one /imagine (or edit): fetch an edit's pictures, follow the provider, then
    deliver the pictures. With ``accepted`` (after a restart), the upstream job it names is
    followed instead of submitting the request again."""

    async def draw(job: ActiveJob) -> None:
        label = entry.provider.label
        edited, moved = await with_pictures(job, entry, request)
        preview = LivePreview(
            job.bot,
            job.chat_id,
            job.order.command_message_id,
            lambda image: fetch_one(job, image, label),
            caption=job.tr.gettext(PREVIEW),
            thread_id=job.order.thread_id,
        )
        try:
            async with chat_action(job.bot, job.chat_id, "upload_photo", job.order.thread_id):
                result, drawn = await follow(job, entry, edited, preview, accepted)
                tr, count = job.tr, len(result.images)
                job.show(render.delivering_text(tr, drawn.id, count, job.clock.elapsed))
                pictures = await fetch_pictures(
                    job, result.images, drawn.provider.label, keep_originals=True
                )
                caption = render.caption(
                    tr,
                    request.prompt,
                    drawn.id,
                    result.seed,
                    instead_of=entry.id,
                    edited=edited.is_edit,
                    note=tr.gettext(FIRST_FRAME) if moved else "",
                )
                await job.runtime.storage.add_result(
                    job.id, model=drawn.id, seed=result.seed, count=len(pictures)
                )
                options = job.order.options
                look = Look(bool(options.get(SPOILER)), bool(options.get(CAPTION_ABOVE)))
                under = buttons(job, entry, result.seed, len(pictures))
                billing.charge_for(job, drawn, len(pictures))
                await job.deliver(pictures, caption, look, under)
            await job.runtime.keep_paces()
        finally:
            await preview.remove()

    return draw


async def with_pictures(
    job: ActiveJob, entry: ModelEntry, request: ImageRequest
) -> tuple[ImageRequest, bool]:
    """``request`` with an edit's pictures fetched and fitted to ``entry`` (unchanged for a
    job drawn from text), and whether one of them moved (its first frame is used)."""
    refs = refs_in(job.order.options)
    if not refs or entry.options is None:
        return request, False
    job.show(job.tr.gettext(FETCHING).format(model=entry.id))
    images, moved = await fitted_pictures(
        job.runtime, job.bot, refs, entry.options.pictures, entry.id, job.tr
    )
    return dataclasses.replace(request, images=images), moved


async def follow(
    job: ActiveJob,
    entry: ModelEntry,
    request: ImageRequest,
    preview: LivePreview | None,
    accepted: Accepted | None,
) -> tuple[ImageResponse, ModelEntry]:
    """Consumes the provider's events, keeping the status (and the preview, if there is one)
    current; returns the final images and the model that drew them (a fallback when the chosen
    model's provider failed)."""
    stage: Stage | None = None  # until the upstream has taken the job
    note, notice, drawing = "", "", entry
    runtime, tr = job.runtime, job.tr

    def refresh() -> None:
        job.show(notice + render.progress_text(tr, drawing.id, stage, job.clock.elapsed, note))

    refresh()
    events = _events(runtime, entry, request, accepted, job.deadline)
    # Closing the events at the result frees the provider's slot before the delivery.
    async with ticker(TICK_SECONDS, refresh), contextlib.aclosing(events):
        async for event in events:
            if isinstance(event, Switched):
                reason, adjustments = switched_parts(tr, event, drawing.provider.label)
                drawing = runtime.registry.resolve(event.to_model)
                stage, note = None, ""
                job.reached("switched", drawing.provider.label)
                notice = render.switched_text(tr, event, reason, adjustments) + "\n"
                refresh()
            elif isinstance(event, Progress):
                stage = stage_of(event)
                note = render.queue_note(tr, event.queue_position, drawing.provider.label)
                if stage is not None:
                    job.reached(stage, drawing.provider.label)
                token = event.resume or event.job_id
                if token and (accepted is None or accepted.job != token):
                    accepted = Accepted(drawing.id, token)
                    await job.remember_upstream(accepted.stored())
                refresh()
            elif isinstance(event, ImagePreview):
                stage, note = Stage.GENERATING, tr.gettext("preview below")
                job.reached(stage, drawing.provider.label)
                refresh()
                if event.images and preview is not None:
                    preview.show(event.images[0])
            elif isinstance(event, ImageResponse):
                if not event.images:
                    raise ProviderError(
                        ErrorCode.RETURNED_NO_IMAGES, provider=drawing.provider.label
                    )
                return event, drawing
    raise ProviderError(ErrorCode.FINISHED_WITHOUT_IMAGES, provider=drawing.provider.label)


@dataclass(frozen=True)
class Accepted:
    """An upstream job that accepted this request: the model that took it and what its
    provider needs to follow it (stored as the job row's upstream_job_id)."""

    model_id: str
    job: str

    def stored(self) -> str:
        return json.dumps({"model": self.model_id, "job": self.job})

    @classmethod
    def from_stored(cls, value: str | None) -> Accepted | None:
        try:
            data = json.loads(value or "")
            return cls(str(data["model"]), str(data["job"]))
        except (ValueError, TypeError, KeyError):
            return None


async def _events(
    runtime: Runtime,
    entry: ModelEntry,
    request: ImageRequest,
    accepted: Accepted | None,
    until: float,
) -> EventStream:
    """The job's events until ``until`` (the job's deadline): the accepted upstream job
    followed again when there is one and its provider can, else (or when following it fails)
    the request drawn with fallback."""
    if accepted is not None:
        try:
            model = runtime.registry.resolve(accepted.model_id, entry.kind)
            resumed = resume_images(model, accepted.job, request, runtime.providers, until)
        except ProviderError:
            resumed = None
        if resumed is not None:
            if model is not entry:  # a fallback model had taken the job before the restart
                had_failed = ProviderError(ErrorCode.HAD_FAILED, provider=entry.provider.label)
                yield Switched(entry.id, model.id, had_failed)
            try:
                async with contextlib.aclosing(resumed):
                    async for event in resumed:
                        yield event
                return
            except OutOfTime:
                raise  # no time left to draw it again
            except ProviderError as error:
                log.warning("could not follow %s after a restart: %s", accepted.job, error)
    fresh = generate_with_fallback(
        runtime.candidates(entry), request, runtime.providers, runtime.health, until
    )
    async with contextlib.aclosing(fresh):
        async for event in fresh:
            yield event


async def fetch_one(job: ActiveJob, image: str | bytes, provider: str) -> bytes:
    """An image's bytes: as given, or fetched safely before the job's deadline."""
    if isinstance(image, bytes):
        return image
    settings = job.runtime.settings
    return await fetch_bytes(
        job.runtime.providers.http.session,
        image,
        provider=provider,
        allow_private=settings.allow_private_urls,
        deadline=job.deadline,
        proxied=bool(settings.proxy),
    )


async def fetch_pictures(
    job: ActiveJob, images: Sequence[str | bytes], provider: str, *, keep_originals: bool = False
) -> list[Picture]:
    """Every result as a checked, Telegram-friendly picture (or a ProviderError saying why not);
    with ``keep_originals`` the exact upstream files are kept for the 📎 button."""
    blobs = await asyncio.gather(*(fetch_one(job, image, provider) for image in images))

    def check() -> list[Picture]:
        return [prepare(blob, index) for index, blob in enumerate(blobs)]

    try:
        pictures = await asyncio.to_thread(check)
    except NotAPicture as error:
        raise ResponseError(error.code, provider=provider, **error.params) from None
    if keep_originals:
        await job.runtime.originals.put(job.id, list(blobs))
    return pictures


def buttons(job: ActiveJob, entry: ModelEntry, seed: int | None, count: int) -> Buttons:
    """The keyboard under the job's ``count`` pictures (see bot.result_buttons)."""
    runtime, tr = job.runtime, job.tr
    inline_edit = job.order.kind != EDIT and job.bot.supports_inline_queries
    edit = edit_query(job.order.prompt, seed) if inline_edit else None
    markup = keyboard(
        tr,
        job.id,
        count=count,
        edit=edit,
        variations=entry.options is not None and entry.options.max_images > 1,
        originals=runtime.originals.enabled,
        edits=Kind.EDIT in runtime.defaults,
    )
    return Buttons(tr.gettext("⬆️ What next?"), markup.to_dict())


def stored_options(request: ImageRequest) -> dict[str, object]:
    """The request as a job's stored options keep it: its values, without picture bytes (an
    edit keeps its pictures' file references under PICTURES instead)."""
    return {k: v for k, v in dataclasses.asdict(request).items() if k != "images"}


def stored_request(row: JobRow) -> ImageRequest:
    """The request an /imagine (or edit) job drew, as it was stored, without the pictures
    (TypeError when it cannot be read)."""
    fields = {f.name for f in dataclasses.fields(ImageRequest)} - {"images"}
    return ImageRequest(**{k: v for k, v in row.options.items() if k in fields})


def resumption(runtime: Runtime, row: JobRow) -> tuple[str, Work] | None:
    """How to take a stored /imagine up again after a restart, or None if it cannot be.

    Finished pictures still in the outbox are sent; a job cut short before that is drawn again
    (see :func:`redrawing`).
    """
    if row.status == JobStatus.DELIVERING:  # its parcel is there (see recovery.take_up)
        tr = translator(row.language or ENGLISH)
        return tr.gettext(RESENDING), lambda job: job.deliver_saved(row.id)
    return redrawing(runtime, row, drawing)


Drawing = Callable[[ModelEntry, ImageRequest, "Accepted | None"], Work]


def redrawing(runtime: Runtime, row: JobRow, draw: Drawing) -> tuple[str, Work] | None:
    """A stored drawing job cut short, taken up once more with ``draw``: its upstream job
    followed again where one accepted it, else its stored request drawn again with the same
    seed; None when it ran twice already or cannot be drawn any more."""
    if row.attempts >= MAX_RUNS:
        return None
    try:
        entry = runtime.registry.resolve(row.model, Kind.EDIT if row.kind == EDIT else Kind.IMAGE)
        request = stored_request(row)
        validate_request(entry, with_placeholders(request, len(refs_in(row.options))))
    except (ProviderError, TypeError):
        return None
    tr = translator(row.language or ENGLISH)
    accepted = Accepted.from_stored(row.upstream_job_id)
    if accepted is not None:
        return tr.gettext(FOLLOWING), draw(entry, request, accepted)
    waiting = tr.gettext(REDRAWING) if row.attempts else render.starting_text(tr, entry.id)
    return waiting, draw(entry, request, None)


def with_placeholders(request: ImageRequest, count: int) -> ImageRequest:
    """``request`` carrying ``count`` empty pictures: what is checked against a model before
    the real pictures are fetched (how many a model takes does not depend on their bytes)."""
    if not count:
        return request
    return dataclasses.replace(request, images=(Media(b""),) * count)
