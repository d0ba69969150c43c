"""/describe and 🔎: the chat's vision model writes a prompt that would draw a picture like the
photo; the answer carries a 🎨 button that draws it.

A describe job is an /ask with a fixed question whose answer is kept (the 🎨 button needs it)
and shown as a prompt to copy.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import ClassVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import ENGLISH, N_, Translator, translator
from bot.jobs import ask, photos
from bot.jobs.active import ActiveJob, Order, Work
from bot.jobs.life import MAX_RUNS
from bot.jobs.life import submit as start_job
from bot.jobs.rejected import Rejected
from bot.runtime import Runtime, models
from bot.storage.records import JobRow
from bot.telegram.callback_data import CallbackData
from bot.telegram.flood import Priority, sending_as
from providers import ErrorCode, Kind, ModelEntry, ProviderError

KIND = "describe"
PROMPT_LIMIT = 900  # characters kept of a written prompt (a caption holds 1024)
# Sent to the model as it is: prompts work best in English whatever the chat speaks.
QUESTION = (
    "Write a prompt for a text-to-image model that would draw a picture like this one: the "
    "subject, composition, style or medium, lighting and colours. Answer with the prompt only, "
    "in English, in at most 70 words."
)
NO_PHOTO = N_(
    "Reply to a photo with /describe, or send a photo with the caption /describe, and I will "
    "write a prompt that draws something like it."
)
DESCRIBED = N_("This picture has been described already: its prompt is in the reply to it.")
WRITTEN = N_("🎨 A prompt for a picture like this one:")
DRAW_IT = N_("🎨 Draw it")
QUOTES = {'"': '"', "'": "'", "«": "»", "“": "”"}
_LABEL = re.compile(r"^\s*\**prompt\**\s*:\s*\**\s*", re.IGNORECASE)

DESCRIBING = N_("🔎 Describing…")
"""What a 🔎 button answers while the picture is being described."""


@dataclass(frozen=True)
class DrawIt(CallbackData):
    """The 🎨 button under a written prompt: ``p:<describe job>``."""

    prefix: ClassVar[str] = "p"

    job_id: int


def clean_prompt(answer: str) -> str:
    """The prompt in a model's answer: without a "Prompt:" label, quotes or code fences, and
    within PROMPT_LIMIT characters."""
    text = _LABEL.sub("", answer.strip()).strip().strip("`").strip()
    if len(text) > 1 and QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    if len(text) > PROMPT_LIMIT:
        text = text[:PROMPT_LIMIT].rsplit(" ", 1)[0]
    return text


async def submit(
    runtime: Runtime, bot: Bot, command: Message, tr: Translator, *, user_id: int | None = None
) -> None:
    """Accepts /describe (as a photo's caption or a reply to a photo), or the 🔎 button under
    a photo the user sent (``command`` is then the photo, ``user_id`` who pressed); Rejected
    without a photo."""
    photos.refuse_other_media(command, tr)
    source = photos.photo_source(command)
    if source is None:
        raise Rejected(tr.gettext(NO_PHOTO))
    ref = photos.photo_ref(source, tr)
    entry = await models.current(runtime, command.chat_id, Kind.VISION)
    order = Order.of(
        command,
        kind=KIND,
        prompt=QUESTION,
        model_id=entry.id,
        options={"image": True, **ref.as_options()},
        language=tr.language,
        user_id=user_id,
    )
    await start_job(runtime, bot, order, ask.waiting_text(tr, ref), describing(entry, ref))


async def start_for_picture(
    runtime: Runtime,
    bot: Bot,
    *,
    chat_id: int,
    message_id: int,
    thread_id: int | None,
    file_id: str,
    user_id: int,
    tr: Translator,
) -> None:
    """Describes a picture the bot sent (the 🔎 button), answering that picture's message;
    Rejected for a picture described before (its description is there already)."""
    if await runtime.storage.job_for_command(chat_id, message_id, KIND) is not None:
        raise Rejected(tr.gettext(DESCRIBED))
    entry = await models.current(runtime, chat_id, Kind.VISION)
    ref = photos.PhotoRef(file_id, "picture.jpg", "image/jpeg")
    order = Order(
        kind=KIND,
        chat_id=chat_id,
        user_id=user_id,
        command_message_id=message_id,
        thread_id=thread_id,
        prompt=QUESTION,
        model_id=entry.id,
        options={"image": True, **ref.as_options()},
        language=tr.language,
    )
    await start_job(runtime, bot, order, ask.waiting_text(tr, ref), describing(entry, ref))


def describing(entry: ModelEntry, ref: photos.PhotoRef) -> Work:
    """The work of one describe: the /ask path with the fixed question; the answer is kept and
    sent as a prompt with the 🎨 button."""
    return ask.answering(entry, QUESTION, ref, finish=_offer)


async def _offer(job: ActiveJob, answer: str) -> None:
    prompt = clean_prompt(answer)
    if not prompt:
        raise ProviderError(ErrorCode.EMPTY_ANSWER, provider=job.order.model_id)
    await job.runtime.storage.add_result(job.id, prompt=prompt)
    text = f"{html.escape(job.tr.gettext(WRITTEN))}\n\n<code>{html.escape(prompt)}</code>"
    button = InlineKeyboardButton(job.tr.gettext(DRAW_IT), callback_data=DrawIt(job.id).pack())

    async def send(chat_id: int) -> Message:
        return await job.bot.send_message(
            chat_id,
            text,
            parse_mode="HTML",
            reply_parameters=job.reply,
            message_thread_id=job.order.thread_id,
            reply_markup=InlineKeyboardMarkup([[button]]),
        )

    with sending_as(Priority.RESULT):
        await job.send(send)


def resumption(runtime: Runtime, row: JobRow) -> tuple[str, Work] | None:
    """How to take a stored describe up again after a restart (once), or None."""
    ref = photos.PhotoRef.from_options(row.options)
    if row.attempts >= MAX_RUNS or ref is None:
        return None
    try:
        entry = runtime.registry.resolve(row.model, Kind.VISION)
    except ProviderError:
        return None
    return ask.waiting_text(translator(row.language or ENGLISH), ref), describing(entry, ref)
