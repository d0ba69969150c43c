"""/settings: this chat's defaults for /imagine and how results are shown, by buttons or text."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.features import language
from bot.features.model import may_change
from bot.i18n import N_, Translator
from bot.jobs import chat_settings as service
from bot.jobs.chat_settings import ChatSettings, SettingError
from bot.runtime import languages as languages
from bot.runtime import runtime_of
from bot.telegram.commands import arguments
from bot.telegram.status import redraw_menu

PREFIX = "set"
RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4")
COUNTS = (1, 2, 3, 4)
DEFAULT = "-"
ADMINS_ONLY = N_("Only this group's admins can change its settings.")
STALE = N_("This button is out of date. Send /settings again.")


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

    auto = tr.gettext("auto")
    ratios = [
        InlineKeyboardButton(
            mark(chosen.aspect_ratio is None, auto), callback_data=f"{PREFIX}:ar:{DEFAULT}"
        )
    ] + [
        InlineKeyboardButton(mark(chosen.aspect_ratio == r, r), callback_data=f"{PREFIX}:ar:{r}")
        for r in RATIOS
    ]
    counts = [
        InlineKeyboardButton(
            mark(chosen.image_count is None, auto), callback_data=f"{PREFIX}:n:{DEFAULT}"
        )
    ] + [
        InlineKeyboardButton(
            mark(chosen.image_count == n, f"×{n}"), callback_data=f"{PREFIX}:n:{n}"
        )
        for n in COUNTS
    ]
    spoiler = InlineKeyboardButton(
        tr.gettext("🙈 Spoiler: on") if chosen.spoiler else tr.gettext("🙈 Spoiler: off"),
        callback_data=f"{PREFIX}:sp:{0 if chosen.spoiler else 1}",
    )
    caption = InlineKeyboardButton(
        tr.gettext("💬 Caption: above")
        if chosen.caption_above
        else tr.gettext("💬 Caption: below"),
        callback_data=f"{PREFIX}:cap:{0 if chosen.caption_above else 1}",
    )
    return InlineKeyboardMarkup(
        [
            ratios[:3],
            ratios[3:],
            counts,
            [spoiler, caption],
            [
                InlineKeyboardButton(tr.gettext("↩️ Reset"), callback_data=f"{PREFIX}:reset"),
                InlineKeyboardButton(tr.gettext("🌐 Language"), callback_data=f"{PREFIX}:lang"),
            ],
        ]
    )


def change_of(data: str) -> dict[str, Any] | None:
    """The columns a button's callback data changes, or None when it is not a known button."""
    parts = data.split(":", 2)
    if len(parts) == 2 and parts[1] == "reset":
        return dict(service.RESET)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    name, value = parts[1], parts[2]
    if name == "ar" and (value == DEFAULT or value in RATIOS):
        return {"aspect_ratio": None if value == DEFAULT else value}
    if name == "n" and (value == DEFAULT or value in {str(n) for n in COUNTS}):
        return {"image_count": None if value == DEFAULT else int(value)}
    if name in ("sp", "cap") and value in ("0", "1"):
        return {"spoiler" if name == "sp" else "caption_above": value == "1"}
    return None


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Without arguments: the chat's settings and buttons. With ``<name> <value>``: changes one
    (admins only in groups); a mistake is explained and changes nothing."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    runtime = runtime_of(context)
    tr = await languages.texts_for(runtime, update)
    wanted = arguments(message, context.bot.username).strip()
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


async def settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stores what the button says and redraws the message; stale or forged data, or a
    non-admin in a group, changes nothing."""
    query, chat = update.callback_query, update.effective_chat
    if query is None:
        return
    runtime = runtime_of(context)
    tr = await languages.texts_for(runtime, update)
    data = query.data or ""
    if chat is None or not isinstance(query.message, Message):
        await query.answer(tr.gettext(STALE), show_alert=True)
        return
    if data == f"{PREFIX}:lang":
        await query.answer()
        chosen_language = await languages.chosen(runtime, chat.id)
        await query.message.reply_text(
            language.summary(tr, chosen_language),
            reply_markup=language.keyboard(tr, chosen_language),
        )
        return
    change = change_of(data)
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


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [
        CommandHandler("settings", settings_command),
        CallbackQueryHandler(settings_button, pattern=f"^{PREFIX}:"),
    ]
