"""The bot's languages: English (the messages in the code) and Russian (gettext catalogue).

Texts are marked in the code with ``tr.gettext("...")`` / ``tr.ngettext(one, many, n)`` (or
``N_("...")`` for constants translated where they are used) and extracted with Babel:
``make messages`` updates ``bot/locales/bot.pot``, the ``.po`` files and the compiled ``.mo``
files the bot reads at run time (through the standard library's :mod:`gettext`).
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass
from pathlib import Path


def N_(message: str) -> str:
    """Marks ``message`` for extraction without translating it (translate it where it is used)."""
    return message


DOMAIN = "bot"
LOCALE_DIR = Path(__file__).parent / "locales"
ENGLISH = "en"
RUSSIAN = "ru"
LANGUAGES = (ENGLISH, RUSSIAN)
"""Every language the bot speaks; the first is the language of the messages in the code."""
LANGUAGE_NAMES = {ENGLISH: "English", RUSSIAN: "Русский"}
"""Each language in its own words (what its button says)."""
LANGUAGE_TITLES = {ENGLISH: N_("English"), RUSSIAN: N_("Russian")}
"""Each language's name for use inside a sentence (translate it: "русский")."""
DECIMAL_MARKS = {RUSSIAN: ","}


@dataclass(frozen=True)
class Translator:
    """One language's texts: ``gettext`` and ``ngettext`` give the message in ``language``
    (the English message itself where the catalogue has no translation)."""

    language: str
    catalogue: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The form for ``count`` (Russian has three: 1 изображение, 2 изображения, 5 изображений);
        the result still holds its ``{placeholders}`` for ``.format``."""
        return self.catalogue.ngettext(singular, plural, count)

    def decimal(self, value: float) -> str:
        """``value`` with one decimal and the language's decimal mark (2.5, 2,5)."""
        return f"{value:.1f}".replace(".", DECIMAL_MARKS.get(self.language, "."))


@functools.cache
def translator(language: str) -> Translator:
    """The Translator of a language in LANGUAGES (any other code gives English)."""
    if language not in LANGUAGES or language == ENGLISH:
        return Translator(ENGLISH, gettext.NullTranslations())
    catalogue = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
    return Translator(language, catalogue)


def from_telegram(language_code: str | None, default: str = ENGLISH) -> str:
    """The language for a Telegram user's ``language_code``: ``ru`` (and ``ru-RU`` ...) is
    Russian, any other code English; no code at all gives ``default``."""
    if not language_code:
        return default
    return RUSSIAN if language_code.lower().split("-")[0] == RUSSIAN else ENGLISH


def parse_choice(word: str) -> str | None:
    """A language a user typed (``ru``, ``русский``, ``en``, ``English``) or ``auto``; None if
    it is neither."""
    word = word.strip().lower()
    aliases = {
        "en": ENGLISH,
        "english": ENGLISH,
        "английский": ENGLISH,
        "ru": RUSSIAN,
        "russian": RUSSIAN,
        "русский": RUSSIAN,
        "auto": "auto",
        "авто": "auto",
    }
    return aliases.get(word)
