"""/settings: this chat's defaults for /imagine and how results are shown, by buttons or text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import N_, Translator
from bot.jobs import chat_settings as service
from bot.jobs.chat_settings import ChatSettings, SettingError
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext
from bot.runtime import languages as languages
from bot.runtime.permissions import may_change
from bot.telegram import language_menu
from bot.telegram.callback_data import CallbackData
from bot.telegram.commands import arguments, too_long
from bot.telegram.status import redraw_menu

RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4")
COUNTS = (1, 2, 3, 4)
DEFAULT = "-"
SETTINGS_LIMIT = service.MAX_NEGATIVE + 20  # "negative " and a negative prompt, with room

ADMINS_ONLY = N_("Only this group's admins can change its settings.")
STALE = N_("This button is out of date. Send /settings again.")


@dataclass(frozen=True)
class SettingButton(CallbackData):
    """A /settings button: ``set:<name>[:<value>]``. The value is the rest of the data, so a
    ratio keeps its colon (``set:ar:16:9``); :func:`change_of` checks it."""

    prefix: ClassVar[str] = "set"
    tail: ClassVar[bool] = True

    name: str  # ar, n, sp, cap, reset or lang
    value: str | None = None


def summary(tr: Translator, chosen: ChatSettings) -> str:
    """What /settings shows: each setting's value and how to change it."""
    default = tr.gettext("model's default")
    lines = [
        tr.gettext("⚙️ Settings of this chat"),
        tr.gettext("📐 Aspect ratio: {value}").format(value=chosen.aspect_ratio or default),
        tr.gettext("🖼 Images per request: {value}").format(value=chosen.image_count or default),
        tr.gettext("🚫 Negative prompt: {value}").format(
            value=chosen.negative_prompt or tr.gettext("none")
        ),
        tr.gettext("🙈 Spoiler: {value}").format(
            value=tr.gettext("on") if chosen.spoiler else tr.gettext("off")
        ),
        tr.gettext("💬 Caption: {value}").format(
            value=tr.gettext("above the picture")
            if chosen.caption_above
            else tr.gettext("below the picture")
        ),
        "",
        tr.gettext(
            "Flags of /imagine win over these. Change them below or by text: /settings ar 16:9, "
            "/settings n 2, /settings no blurry, text, /settings spoiler on, "
            "/settings caption above, /settings reset. The language is under /language."
        ),
    ]
    return "\n".join(lines)


def keyboard(tr: Translator, chosen: ChatSettings) -> InlineKeyboardMarkup:
    """Aspect ratios, numbers of images, spoiler and caption toggles, reset, language."""

    def mark(selected: bool, label: str) -> str:
        return ("✅ " if selected else "") + label

    ratios = [
        InlineKeyboardButton(
            mark(chosen.aspect_ratio is None, tr.gettext("📐 Ratio: auto")),
            callback_data=SettingButton("ar", DEFAULT).pack(),
        )
    ] + [
        InlineKeyboardButton(
            mark(chosen.aspect_ratio == r, r), callback_data=SettingButton("ar", r).pack()
        )
        for r in RATIOS
    ]
    counts = [
        InlineKeyboardButton(
            mark(chosen.image_count is None, tr.gettext("🖼 Images: auto")),
            callback_data=SettingButton("n", DEFAULT).pack(),
        )
    ] + [
        InlineKeyboardButton(
            mark(chosen.image_count == n, f"×{n}"), callback_data=SettingButton("n", str(n)).pack()
        )
        for n in COUNTS
    ]
    spoiler = InlineKeyboardButton(
        tr.gettext("🙈 Spoiler: on") if chosen.spoiler else tr.gettext("🙈 Spoiler: off"),
        callback_data=SettingButton("sp", "0" if chosen.spoiler else "1").pack(),
    )
    caption = InlineKeyboardButton(
        tr.gettext("💬 Caption: above")
        if chosen.caption_above
        else tr.gettext("💬 Caption: below"),
        callback_data=SettingButton("cap", "0" if chosen.caption_above else "1").pack(),
    )
    return InlineKeyboardMarkup(
        [
            ratios[:3],
            ratios[3:],
            counts[:1],  # its label needs the room
            counts[1:],
            [spoiler, caption],
            [
                InlineKeyboardButton(
                    tr.gettext("↩️ Reset"), callback_data=SettingButton("reset").pack()
                ),
                InlineKeyboardButton(
                    tr.gettext("🌐 Language"), callback_data=SettingButton("lang").pack()
                ),
            ],
        ]
    )


def change_of(press: SettingButton | None) -> dict[str, Any] | None:
    """The columns a button changes, or None when it is not a known button."""
    if press == SettingButton("reset"):
        return dict(service.RESET)
    if press is None or press.value is None:
        return None
    name, value = press.name, press.value
    if name == "ar" and (value == DEFAULT or value in RATIOS):
        return {"aspect_ratio": None if value == DEFAULT else value}
    if name == "n" and (value == DEFAULT or value in {str(n) for n in COUNTS}):
        return {"image_count": None if value == DEFAULT else int(value)}
    if name in ("sp", "cap") and value in ("0", "1"):
        return {"spoiler" if name == "sp" else "caption_above": value == "1"}
    return None


async def settings_command(update: Update, context: BotContext) -> None:
    """Without arguments: the chat's settings and buttons. With ``<name> <value>``: changes one
    (admins only in groups); a mistake is explained and changes nothing."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    runtime = context.runtime
    tr = await languages.texts_for(runtime, update)
    wanted = arguments(message, context.bot.username).strip()
    if refusal := too_long(tr, "settings", wanted, SETTINGS_LIMIT):
        raise Rejected(refusal)
    if wanted:
        try:
            change = service.parse(wanted, tr)
        except SettingError as error:
            await message.reply_text(str(error))
            return
        if not await may_change(context, chat, update.effective_user, message):
            await message.reply_text(tr.gettext(ADMINS_ONLY))
            return
        await service.store(runtime, chat.id, change)
    chosen = await service.load(runtime, chat.id)
    text = summary(tr, chosen)
    if wanted:
        text = tr.gettext("Saved.") + "\n\n" + text
    await message.reply_text(text, reply_markup=keyboard(tr, chosen))


async def settings_button(update: Update, context: BotContext) -> None:
    """Stores what the button says and redraws the message; stale or forged data, or a
    non-admin in a group, changes nothing."""
    query, chat = update.callback_query, update.effective_chat
    if query is None:
        return
    runtime = context.runtime
    tr = await languages.texts_for(runtime, update)
    press = SettingButton.unpack(query.data)
    if chat is None or not isinstance(query.message, Message):
        await query.answer(tr.gettext(STALE), show_alert=True)
        return
    if press == SettingButton("lang"):
        await query.answer()
        chosen_language = await languages.chosen(runtime, chat.id)
        await query.message.reply_text(
            language_menu.summary(tr, chosen_language),
            reply_markup=language_menu.keyboard(tr, chosen_language),
        )
        return
    change = change_of(press)
    if change is None:
        await query.answer(tr.gettext(STALE), show_alert=True)
        return
    if not await may_change(context, chat, query.from_user, None):
        await query.answer(tr.gettext(ADMINS_ONLY), show_alert=True)
        return
    await service.store(runtime, chat.id, change)
    await query.answer(tr.gettext("Saved."))
    chosen = await service.load(runtime, chat.id)
    await redraw_menu(query, summary(tr, chosen), keyboard(tr, chosen))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("settings", settings_command),
        CallbackQueryHandler(settings_button, pattern=SettingButton.pattern()),
    ]
