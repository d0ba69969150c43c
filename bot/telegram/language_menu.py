"""The language menu (/language, and /settings' 🌐 button): its text and its buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import LANGUAGE_NAMES, LANGUAGE_TITLES, LANGUAGES, N_, Translator
from bot.telegram.callback_data import CallbackData

AUTO = "auto"
USAGE = N_("Send /language en, /language ru or /language auto, or pick below.")


@dataclass(frozen=True)
class LanguageChoice(CallbackData):
    """A language button: ``lang:<code>``, a code of LANGUAGES or AUTO."""

    prefix: ClassVar[str] = "lang"

    code: str

    def __post_init__(self) -> None:
        if self.code not in (*LANGUAGES, AUTO):
            raise ValueError(f"no language {self.code!r}")


def summary(tr: Translator, chosen: str | None) -> str:
    """What /language shows: the language in use and whether the chat chose it."""
    if chosen is None:
        head = tr.gettext("🌐 Language: {name}, from your Telegram settings.").format(
            name=tr.gettext(LANGUAGE_TITLES[tr.language])
        )
    else:
        head = tr.gettext("🌐 Language of this chat: {name}.").format(
            name=tr.gettext(LANGUAGE_TITLES[chosen])
        )
    return head + "\n" + tr.gettext(USAGE)


def keyboard(tr: Translator, chosen: str | None) -> InlineKeyboardMarkup:
    """One button per language and one to follow each user's Telegram language."""
    options = [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]
    options.append((AUTO, tr.gettext("Telegram's language")))
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ("✅ " if code == (chosen or AUTO) else "") + label,
                    callback_data=LanguageChoice(code).pack(),
                )
                for code, label in options
            ]
        ]
    )
