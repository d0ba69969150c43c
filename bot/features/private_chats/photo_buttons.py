"""A photo sent to the bot without words (private chats) gets buttons for what to do with it.

"🖌 Edit" asks what to change (ForceReply; bot.features.edit takes the answer), and a text
that replies to the user's own photo or to a picture the bot sent is an edit of it too.
"❓ Ask about it" puts up a prompt the user answers; the answer is an /ask about the photo,
and so is a text that replies to the buttons' message.
"🔎 Describe" writes a prompt that draws something like it (as /describe does).

A button's callback data names the action and the photo's message id; a press counts only if
the buttons' message still replies to that photo, so old or forged data changes nothing. The
prompts live in the database (prompts.py): they survive a restart.
To add a button: a row in :func:`photo_actions` and its function in :data:`ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.features.private_chats import hints
from bot.features.private_chats import prompts as photo_prompts
from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.jobs import ask, describe, edit, photos
from bot.jobs.describe import DESCRIBING
from bot.jobs.flags import parse_imagine
from bot.runtime import BotContext, Runtime
from bot.runtime.languages import texts_for
from bot.telegram.callback_data import CallbackData
from providers import Kind

ASK = "ask"
DESCRIBE = "describe"
EDIT = "edit"

OFFER = N_("What shall I do with this picture?")
ASK_BUTTON = N_("❓ Ask about it")
EDIT_BUTTON = N_("🖌 Edit")
DESCRIBE_BUTTON = N_("🔎 Describe")
PROMPT = N_("What would you like to know about this picture?")
PLACEHOLDER = N_("Your question about the picture")
STALE = N_("This button no longer works. Send the photo again.")
STALE_PROMPT = N_("I no longer have the photo you are asking about. Send it again, please.")


@dataclass(frozen=True)
class PhotoAction(CallbackData):
    """What a photo button does (``action``), to which photo (the id of the user's message):
    ``photo:<action>:<message id>``."""

    prefix: ClassVar[str] = "photo"

    action: str
    photo_message_id: int


def photo_actions(
    tr: Translator, photo_message_id: int, *, edits: bool = True
) -> InlineKeyboardMarkup:
    """The buttons under a photo (the user's message ``photo_message_id``), in ``tr``'s
    language: ❓ and 🔎, then 🖌 when some model here edits pictures."""
    asking = PhotoAction(ASK, photo_message_id).pack()
    describing = PhotoAction(DESCRIBE, photo_message_id).pack()
    rows = [
        [
            InlineKeyboardButton(tr.gettext(ASK_BUTTON), callback_data=asking),
            InlineKeyboardButton(tr.gettext(DESCRIBE_BUTTON), callback_data=describing),
        ]
    ]
    if edits:
        editing = PhotoAction(EDIT, photo_message_id).pack()
        rows.append([InlineKeyboardButton(tr.gettext(EDIT_BUTTON), callback_data=editing)])
    return InlineKeyboardMarkup(rows)


@dataclass(frozen=True)
class PhotoPress:
    """A press of a photo button that passed the checks: what an action works with."""

    query: CallbackQuery
    runtime: Runtime
    bot: Bot
    photo: Message  # the user's message with the photo, which the buttons reply to
    ref: photos.PhotoRef
    tr: Translator


async def ask_about_it(press: PhotoPress) -> None:
    """Puts up "What would you like to know about this picture?" (a reply to the photo that
    the user's app answers directly); the answer becomes the question."""
    await press.query.answer()
    async with press.runtime.asking.prompt(press.photo.chat_id):
        prompt = await press.bot.send_message(
            press.photo.chat_id,
            press.tr.gettext(PROMPT),
            reply_parameters=ReplyParameters(press.photo.message_id),
            reply_markup=ForceReply(input_field_placeholder=press.tr.gettext(PLACEHOLDER)),
        )
        await photo_prompts.remember(press.runtime, prompt.chat_id, prompt.message_id, press.ref)


async def describe_it(press: PhotoPress) -> None:
    """Writes a prompt that would draw a picture like the photo (as /describe does)."""
    await describe.submit(
        press.runtime, press.bot, press.photo, press.tr, user_id=press.query.from_user.id
    )
    await press.query.answer(press.tr.gettext(DESCRIBING))


async def edit_it(press: PhotoPress) -> None:
    """Puts up "What should I change in this picture?"; the answer edits the photo."""
    await press.query.answer()
    await edit.ask_for_instruction(press.runtime, press.bot, press.photo, press.ref, press.tr)


ACTIONS: dict[str, Callable[[PhotoPress], Awaitable[None]]] = {
    ASK: ask_about_it,
    DESCRIBE: describe_it,
    EDIT: edit_it,
}
"""What each button does, by its action name."""


async def offer(update: Update, context: BotContext) -> None:
    """Answers a photo with the buttons (or says why a bot cannot take it)."""
    message = update.effective_message
    if message is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    ref = photos.photo_ref(message, tr)
    edits = Kind.EDIT in runtime.defaults
    async with runtime.asking.prompt(message.chat_id):
        sent = await message.reply_text(
            tr.gettext(OFFER), reply_markup=photo_actions(tr, message.message_id, edits=edits)
        )
        await photo_prompts.remember(runtime, sent.chat_id, sent.message_id, ref)


async def pressed(update: Update, context: BotContext) -> None:
    """Does what the pressed photo button says; a button whose data is not ours, or whose
    photo is gone, gets a polite alert and changes nothing."""
    query = update.callback_query
    if query is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    action = PhotoAction.unpack(query.data)
    photo = _photo_under(query, action)
    run = ACTIONS.get(action.action) if action is not None else None
    if photo is None or run is None:
        await query.answer(tr.gettext(STALE), show_alert=True)
        return
    ref = photos.photo_ref(photo, tr)
    await run(PhotoPress(query, runtime, context.bot, photo, ref, tr))


def _photo_under(query: CallbackQuery, action: PhotoAction | None) -> Message | None:
    """The photo the pressed buttons are about: the message they reply to, if it is the one
    the button names and has a photo (or an image file)."""
    buttons = query.message
    if action is None or not isinstance(buttons, Message) or buttons.chat.type != Chat.PRIVATE:
        return None
    photo = buttons.reply_to_message
    if photo is None or photo.message_id != action.photo_message_id:
        return None
    return photo if photos.photo_source(photo) is photo else None


async def question(update: Update, context: BotContext) -> None:
    """A text replying to one of the bot's prompts about a photo is a question about that
    photo; one replying to a picture (the user's own or one the bot sent) says how to change
    it (a question about it where no model edits pictures); any other text gets the usual
    pointer."""
    message = update.effective_message
    target = message.reply_to_message if message is not None else None
    if message is None or target is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    is_picture = photos.photo_source(target) is target
    if is_picture and Kind.EDIT in runtime.defaults:
        args = parse_imagine(message.text or "", tr, edit=True)
        refs = photos.refs_of([target], tr)
        await edit.submit(runtime, context.bot, message, refs, args, tr)
        return
    ref: photos.PhotoRef | None = None
    if _from(target, context.bot.id):
        ref = await photo_prompts.recall(runtime, message.chat_id, target.message_id)
        if ref is None and target.text in _prompt_texts():
            await message.reply_text(tr.gettext(STALE_PROMPT))
            return
    elif is_picture and message.from_user is not None and _from(target, message.from_user.id):
        ref = photos.photo_ref(target, tr)
    if ref is None:
        await hints.hint(update, context)
        return
    await ask.submit_about(runtime, context.bot, message, ref, message.text or "", tr)


def _from(message: Message, user_id: int) -> bool:
    return message.from_user is not None and message.from_user.id == user_id


def _prompt_texts() -> set[str]:
    """The bot's prompts about a photo, in every language."""
    return {translator(lang).gettext(text) for lang in LANGUAGES for text in (OFFER, PROMPT)}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """Photos and texts in private chats that no command took; register before hints.py's."""
    private = filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED
    return [
        MessageHandler(private & (filters.PHOTO | filters.Document.IMAGE), offer),
        MessageHandler(private & filters.TEXT & ~filters.COMMAND & filters.REPLY, question),
        CallbackQueryHandler(pressed, pattern=PhotoAction.pattern()),
    ]
