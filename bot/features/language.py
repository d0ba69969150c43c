"""/language: the chat's language (English, Russian, or each user's Telegram language)."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import N_, Translator, parse_choice
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext
from bot.runtime import languages as languages
from bot.runtime.permissions import may_change
from bot.telegram.commands import arguments, too_long
from bot.telegram.language_menu import AUTO, USAGE, LanguageChoice, keyboard, summary
from bot.telegram.status import redraw_menu

ADMINS_ONLY = N_("Only this group's admins can change its language.")
STALE = N_("This button is out of date. Send /language again.")


def confirmation(tr: Translator, chosen: str | None) -> str:
    """The answer once the chat's language changed, in the new language (so each translation of
    "I speak English" names its own language)."""
    if chosen is None:
        return tr.gettext("Done: I answer everyone here in their own Telegram language.")
    return tr.gettext("Done: I speak English in this chat.")


async def language_command(update: Update, context: BotContext) -> None:
    """Without arguments: the chat's language and buttons. With en, ru or auto: sets it."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    runtime = context.runtime
    wanted = arguments(message, context.bot.username).strip()
    tr = await languages.texts_for(runtime, update)
    if refusal := too_long(tr, "language", wanted):
        raise Rejected(refusal)
    if not wanted:
        chosen = await languages.chosen(runtime, chat.id)
        await message.reply_text(summary(tr, chosen), reply_markup=keyboard(tr, chosen))
        return
    choice = parse_choice(wanted)
    if choice is None:
        await message.reply_text(tr.gettext(USAGE), reply_markup=keyboard(tr, None))
        return
    if not await may_change(context, chat, update.effective_user, message):
        await message.reply_text(tr.gettext(ADMINS_ONLY))
        return
    chosen = None if choice == AUTO else choice
    await languages.choose(runtime, chat.id, chosen)
    tr = await languages.texts_for(runtime, update)
    await message.reply_text(confirmation(tr, chosen))


async def language_button(update: Update, context: BotContext) -> None:
    """Stores the pressed language and redraws the message in it; forged data changes nothing."""
    query, chat = update.callback_query, update.effective_chat
    if query is None:
        return
    runtime = context.runtime
    tr = await languages.texts_for(runtime, update)
    choice = LanguageChoice.unpack(query.data)
    if chat is None or not isinstance(query.message, Message) or choice is None:
        await query.answer(tr.gettext(STALE), show_alert=True)
        return
    if not await may_change(context, chat, query.from_user, None):
        await query.answer(tr.gettext(ADMINS_ONLY), show_alert=True)
        return
    chosen = None if choice.code == AUTO else choice.code
    await languages.choose(runtime, chat.id, chosen)
    tr = await languages.texts_for(runtime, update)
    await query.answer(confirmation(tr, chosen))
    await redraw_menu(query, summary(tr, chosen), keyboard(tr, chosen))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("language", language_command),
        CallbackQueryHandler(language_button, pattern=LanguageChoice.pattern()),
    ]
