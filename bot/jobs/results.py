"""What the buttons under results do: draw again, variations, the original files, describe,
edit a picture.

A press is checked here (the job exists, belongs to this chat, and the presser asked for it or
runs the chat); a job a press starts answers a short message the bot writes on the presser's
behalf, so it reads, is stored and is resumed like any command.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from typing import Any

from telegram import Bot, CallbackQuery, InputMediaDocument, Message, ReplyParameters, User
from telegram.constants import ChatType

from bot.i18n import N_, Translator
from bot.jobs import chat_settings, describe, edit, imagine
from bot.jobs.photos import PhotoRef, refs_in
from bot.jobs.rejected import Rejected
from bot.jobs.result_buttons import AGAIN, VARIATIONS
from bot.runtime import Runtime
from bot.storage.records import JobRow
from bot.telegram.admins import is_admin
from bot.telegram.flood import Priority, sending_as
from providers import InvalidOption, Kind, UnknownModel, validate_request

VARIATIONS_MAX = 4  # pictures one 🎲 press asks for, where the model can draw that many
STALE = N_("This button no longer works. Send your command again.")
NOT_YOURS = N_("Only the person who asked for this (or a chat admin) can use these buttons.")
MODEL_GONE = N_("{model} is no longer offered here. Send /imagine to draw with another model.")
ORIGINALS_GONE = N_("The original files are no longer kept. Send /imagine to draw it again.")
NOT_READY = N_("The pictures are still being sent; try again in a moment.")


@dataclass(frozen=True)
class PressNote:
    """The message the bot writes for a press that starts a job (the job answers it): in a
    group it names who pressed; in a private chat that person is the only one there."""

    named: str
    private: str

    def text(self, tr: Translator, pressed: Message, user: User, prompt: str) -> str:
        template = self.private if pressed.chat.type == ChatType.PRIVATE else self.named
        return tr.gettext(template).format(name=user.first_name, prompt=prompt)


AGAIN_NOTE = PressNote(
    N_("🔄 {name} asked to draw this again: {prompt}"), N_("🔄 Drawing this again: {prompt}")
)
VARIATIONS_NOTE = PressNote(
    N_("🎲 {name} asked for variations: {prompt}"), N_("🎲 Variations: {prompt}")
)


DRAWN = ("imagine", imagine.EDIT)
"""The kinds of job whose results carry these buttons."""


async def pressed_job(
    runtime: Runtime,
    bot: Bot,
    query: CallbackQuery,
    job_id: int,
    tr: Translator,
    kinds: tuple[str, ...] = DRAWN,
) -> tuple[JobRow, Message]:
    """The job whose button was pressed and the message the button is on; Rejected (with the
    alert to show) when the button is stale or forged, or the presser may not use it."""
    pressed = query.message
    row = await runtime.storage.get_job(job_id)
    if (
        row is None
        or row.kind not in kinds
        or not isinstance(pressed, Message)
        or row.chat_id != pressed.chat_id
        or row.result is None
    ):
        raise Rejected(tr.gettext(STALE))
    user = query.from_user
    if user.id != row.user_id and not await is_admin(
        bot, pressed.chat, user, runtime.settings.admin_user_ids
    ):
        raise Rejected(tr.gettext(NOT_YOURS))
    return row, pressed


async def on_behalf(bot: Bot, pressed: Message, text: str) -> Message:
    """The bot's message, replying to ``pressed`` in its topic, that a pressed job answers."""
    with sending_as(Priority.ANSWER):
        return await bot.send_message(
            pressed.chat_id,
            text,
            reply_parameters=ReplyParameters(pressed.message_id, allow_sending_without_reply=True),
            message_thread_id=pressed.message_thread_id if pressed.is_topic_message else None,
        )


async def draw_for(
    runtime: Runtime,
    bot: Bot,
    pressed: Message,
    user: User,
    built: imagine.Built,
    note: PressNote,
    tr: Translator,
) -> None:
    """Starts drawing ``built`` for ``user`` under a message saying ``note``; that message is
    taken back when the user is at their cap (Rejected)."""
    lines = [note.text(tr, pressed, user, built.request.prompt)]
    lines += [f"ℹ️ {line}" for line in built.notes]
    command = await on_behalf(bot, pressed, "\n".join(lines))
    try:
        await imagine.start(runtime, bot, command, built, tr, user_id=user.id)
    except Rejected:
        await command.delete()
        raise


async def draw_again(
    runtime: Runtime,
    bot: Bot,
    row: JobRow,
    pressed: Message,
    user: User,
    action: str,
    tr: Translator,
) -> None:
    """🔄 the same request with a new seed; 🎲 the same with several seeds at once (an
    edit: the same pictures and instruction)."""
    pictures = refs_in(row.options)
    try:
        entry = runtime.registry.resolve(row.model, Kind.EDIT if pictures else Kind.IMAGE)
    except UnknownModel:
        raise Rejected(tr.gettext(MODEL_GONE).format(model=row.model)) from None
    request = imagine.stored_request(row)
    options = entry.options
    if options is not None and options.seed:
        request = dataclasses.replace(request, seed=secrets.randbelow(imagine.SEED_RANGE))
    if action == VARIATIONS:
        count = min(VARIATIONS_MAX, options.max_images if options else 1)
        request = dataclasses.replace(request, n=count)
    try:
        validate_request(entry, imagine.with_placeholders(request, len(pictures)))
    except InvalidOption:
        raise Rejected(tr.gettext(STALE)) from None
    look = chat_settings.ChatSettings(
        spoiler=bool(row.options.get(imagine.SPOILER)),
        caption_above=bool(row.options.get(imagine.CAPTION_ABOVE)),
    )
    built = imagine.Built(entry, request, look, [], pictures=pictures)
    note = AGAIN_NOTE if action == AGAIN else VARIATIONS_NOTE
    await draw_for(runtime, bot, pressed, user, built, note, tr)


async def originals(runtime: Runtime, row: JobRow, tr: Translator) -> list[tuple[str, bytes]]:
    """The exact files the upstream sent for this job; Rejected when they are no longer kept."""
    files = await runtime.originals.get(row.id)
    if not files:
        raise Rejected(tr.gettext(ORIGINALS_GONE))
    return files


async def send_originals(bot: Bot, files: list[tuple[str, bytes]], pressed: Message) -> None:
    """📎 the files as documents (no recompression) under the result."""
    reply = ReplyParameters(pressed.message_id, allow_sending_without_reply=True)
    thread = pressed.message_thread_id if pressed.is_topic_message else None
    with sending_as(Priority.RESULT):
        if len(files) == 1:
            name, data = files[0]
            await bot.send_document(
                pressed.chat_id,
                data,
                filename=name,
                reply_parameters=reply,
                message_thread_id=thread,
                disable_content_type_detection=True,
            )
            return
        await bot.send_media_group(
            pressed.chat_id,
            [InputMediaDocument(data, filename=name) for name, data in files[:10]],
            reply_parameters=reply,
            message_thread_id=thread,
        )


async def describe_picture(
    runtime: Runtime,
    bot: Bot,
    row: JobRow,
    pressed: Message,
    index: int,
    user: User,
    tr: Translator,
) -> None:
    """🔎 asks the chat's vision model for a prompt that would draw picture ``index`` (the
    pressed message itself when the button is on the picture)."""
    message_id, file_id = picture_of(row, pressed, index, tr)
    await describe.start_for_picture(
        runtime,
        bot,
        chat_id=row.chat_id,
        message_id=int(message_id),
        thread_id=row.thread_id,
        file_id=str(file_id),
        user_id=user.id,
        tr=tr,
    )


def picture_of(row: JobRow, pressed: Message, index: int, tr: Translator) -> tuple[int, str]:
    """The message and file id of the result's picture ``index`` (the pressed message itself
    when the button is on the picture); Rejected while they are not sent yet, or are gone."""
    if pressed.photo:
        return pressed.message_id, pressed.photo[-1].file_id
    if pressed.document:
        return pressed.message_id, pressed.document.file_id
    pictures: list[list[Any]] = (row.result or {}).get("pictures") or []
    if index >= len(pictures):
        raise Rejected(tr.gettext(NOT_READY) if not pictures else tr.gettext(STALE))
    message_id, file_id = pictures[index]
    return int(message_id), str(file_id)


async def edit_picture(
    runtime: Runtime, bot: Bot, row: JobRow, pressed: Message, index: int, tr: Translator
) -> None:
    """🖌 asks "What should I change in this picture?" about picture ``index``; the answer
    edits it (a chain of edits: the result of one can be edited again)."""
    _, file_id = picture_of(row, pressed, index, tr)
    ref = PhotoRef(file_id, "picture.jpg", "image/jpeg")
    await edit.ask_for_instruction(runtime, bot, pressed, ref, tr)
