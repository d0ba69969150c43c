"""Edits as a service: the user's pictures and an instruction -> the chat's edit model.

An edit is an /imagine that brings pictures (bot.jobs.imagine draws, follows, delivers and
resumes it); what is particular to it is here: which model, the checks before anything is
sent, and the 🖌 prompt that asks for an instruction about one picture.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence

from telegram import Bot, ForceReply, Message, ReplyParameters

from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.i18n.errors import sentence, unknown_model
from bot.jobs import chat_settings, imagine
from bot.jobs.flags import ImagineArgs
from bot.jobs.photos import PhotoRef
from bot.jobs.rejected import Rejected
from bot.runtime import Runtime, models
from bot.runtime.models import NoModelOfKind
from bot.telegram.flood import Priority, sending_as
from providers import InvalidOption, Kind, ModelEntry, UnknownModel, validate_request

NO_EDIT_MODELS = N_(
    "No model here can edit pictures yet: the bot's operator has to set up a provider that "
    "does (see “Edit your pictures” in the README)."
)
DRAWS_ONLY = N_("{model} draws from text only; send /model to pick a model that edits pictures.")
EDITING_REPLY = N_("🖌 Editing the picture you replied to with {model}.")
PROMPT = N_("🖌 What should I change in this picture?")
PLACEHOLDER = N_("make it winter, add a hat, watercolour…")
ACTION = "edit"  # what a remembered prompt about a photo leads to, beside the ❓ question
PROMPT_GONE = N_(
    "I no longer have the picture this was about. Send it again with /edit <what to change>."
)
PROMPTS_KEPT = 24 * 3600.0  # seconds a 🖌 prompt can still be answered


def prompt_texts() -> set[str]:
    """The 🖌 prompt in every language: a reply to a bot message saying one is an instruction."""
    return {translator(language).gettext(PROMPT) for language in LANGUAGES}


async def build(
    runtime: Runtime, chat_id: int, refs: Sequence[PhotoRef], args: ImagineArgs, tr: Translator
) -> imagine.Built:
    """The edit model and request for ``refs`` and ``args``, checked before anything is sent
    (how many pictures the model takes, the options it takes), or Rejected saying why."""
    entry = await _model(runtime, chat_id, args.model, tr)
    request = args.request()
    try:
        validate_request(entry, imagine.with_placeholders(request, len(refs)))
    except InvalidOption as error:
        raise Rejected(sentence(tr, error)) from None
    if request.seed is None and entry.options is not None and entry.options.seed:
        request = dataclasses.replace(request, seed=secrets.randbelow(imagine.SEED_RANGE))
    look = await chat_settings.load(runtime, chat_id)
    return imagine.Built(entry, request, look, [], pictures=tuple(refs))


async def _model(runtime: Runtime, chat_id: int, name: str | None, tr: Translator) -> ModelEntry:
    """The model ``--model`` names (it must edit), or the chat's edit model."""
    try:
        if not name:
            return await models.current(runtime, chat_id, Kind.EDIT)
        entry = runtime.registry.resolve(name)
    except NoModelOfKind:
        raise Rejected(tr.gettext(NO_EDIT_MODELS)) from None
    except UnknownModel as error:
        raise Rejected(f"{unknown_model(tr, error)} {tr.gettext(imagine.SEE_CHOICES)}") from None
    if entry.kind != Kind.EDIT:
        raise Rejected(tr.gettext(DRAWS_ONLY).format(model=entry.id))
    return entry


async def submit(
    runtime: Runtime,
    bot: Bot,
    command: Message,
    refs: Sequence[PhotoRef],
    args: ImagineArgs,
    tr: Translator,
    *,
    user_id: int | None = None,
    from_imagine: bool = False,
) -> None:
    """Accepts an edit of ``refs`` (in that order) answering ``command``: the job replies with
    a status message and sends the edited pictures; ``from_imagine`` (an /imagine replying to
    a picture) is told that it edits that picture. Rejected (nothing stored, nothing sent
    upstream) when it cannot be served."""
    built = await build(runtime, command.chat_id, refs, args, tr)
    if from_imagine:
        said = tr.gettext(EDITING_REPLY).format(model=built.entry.id)
        with sending_as(Priority.ANSWER):
            await command.reply_text(said)
    await imagine.start(runtime, bot, command, built, tr, user_id=user_id)


async def ask_for_instruction(
    runtime: Runtime, bot: Bot, about: Message, ref: PhotoRef, tr: Translator
) -> None:
    """Puts up "What should I change in this picture?" as a reply to ``about`` (the picture,
    or the message under it) that the user's app answers directly; the answer edits ``ref``."""
    async with runtime.asking.prompt(about.chat_id):
        with sending_as(Priority.ANSWER):
            prompt = await bot.send_message(
                about.chat_id,
                tr.gettext(PROMPT),
                reply_parameters=ReplyParameters(
                    about.message_id, allow_sending_without_reply=True
                ),
                reply_markup=ForceReply(
                    selective=True, input_field_placeholder=tr.gettext(PLACEHOLDER)
                ),
                message_thread_id=about.message_thread_id if about.is_topic_message else None,
            )
        await runtime.storage.remember_photo_prompt(
            prompt.chat_id,
            prompt.message_id,
            {**ref.as_options(), "action": ACTION},
            keep_for=PROMPTS_KEPT,
        )


async def recall_prompt(runtime: Runtime, prompt: Message) -> PhotoRef | None:
    """The picture a 🖌 prompt (the bot's message ``prompt``) is about, while it is kept."""
    await runtime.asking.settled(prompt.chat_id)
    stored = await runtime.storage.photo_prompt(
        prompt.chat_id, prompt.message_id, keep_for=PROMPTS_KEPT
    )
    if stored is None or stored.get("action") != ACTION:
        return None
    return PhotoRef.from_options(stored)
