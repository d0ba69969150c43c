"""Which language a chat is answered in: its /language choice, else the user's Telegram one."""

from __future__ import annotations

from telegram import Update, User

from bot.i18n import LANGUAGES, Translator, from_telegram, translator
from bot.runtime import Runtime


async def chosen(runtime: Runtime, chat_id: int) -> str | None:
    """The language the chat chose with /language, or None when it follows each user's own."""
    language = (await runtime.storage.get_prefs(chat_id)).language
    return language if language in LANGUAGES else None


async def language_for(runtime: Runtime, chat_id: int, user: User | None) -> str:
    """The language to answer ``user`` in this chat: the chat's choice, else the user's
    Telegram language (ru* Russian, others English, none DEFAULT_LANGUAGE)."""
    return await chosen(runtime, chat_id) or from_telegram(
        user.language_code if user else None, runtime.settings.default_language
    )


async def texts_for(runtime: Runtime, update: Update) -> Translator:
    """The Translator for replying to this update."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return translator(
            from_telegram(user.language_code if user else None, runtime.settings.default_language)
        )
    return translator(await language_for(runtime, chat.id, user))


async def choose(runtime: Runtime, chat_id: int, language: str | None) -> None:
    """Stores the chat's language (None: follow each user's Telegram language again)."""
    await runtime.storage.set_prefs(chat_id, language=language)
