"""Both languages everywhere: the catalogues are complete, compiled, and used in the code."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, from_telegram, parse_choice, translator
from bot.i18n.provider_texts import adjustment_text, error_text, sentence
from bot.telegram import render
from providers import InvalidOption, ProviderUnavailable, RateLimited, UnknownModel

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [language for language in LANGUAGES if language != "en"]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def catalogue(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
        return read_po(file, locale=language)


def messages_in_code() -> set[str]:
    """Every message the code marks for translation, as pybabel extract sees it."""
    found = extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS
    )
    return {message[0] if isinstance(message, tuple) else message for _, _, message, *_ in found}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_has_a_translation_with_the_same_placeholders(language: str) -> None:
    problems = []
    for message in catalogue(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogue_holds_exactly_the_messages_of_the_code(language: str) -> None:
    in_code = messages_in_code()
    in_catalogue = {
        m.id[0] if isinstance(m.id, tuple) else m.id for m in catalogue(language) if m.id
    }
    assert sorted(in_code - in_catalogue) == [], "run `make messages` and translate"
    assert sorted(in_catalogue - in_code) == [], "run `make messages` to drop unused messages"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_up_to_date(language: str) -> None:
    """The committed .mo (what the bot reads) says what the .po says."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as file:
        compiled = gettext.GNUTranslations(file)
    for message in catalogue(language):
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            for n, string in zip((1, 2, 5), message.string, strict=False):
                assert compiled.ngettext(*message.id[:2], n) == string, "run `make messages`"
        else:
            assert compiled.gettext(message.id) == message.string, "run `make messages`"


def test_russian_plural_forms() -> None:
    ru = translator("ru")
    texts = {n: render.delivering_text(ru, "arta/flux", n, 3) for n in (1, 2, 5, 11, 21, 22)}
    assert "1 изображение" in texts[1]
    assert "2 изображения" in texts[2]
    assert "5 изображений" in texts[5]
    assert "11 изображений" in texts[11]
    assert "21 изображение" in texts[21]
    assert "22 изображения" in texts[22]
    assert render.delivering_text(translator("en"), "arta/flux", 1, 3) == (
        "📤 arta/flux: sending 1 image · 3 s"
    )


def test_language_from_the_telegram_client() -> None:
    assert from_telegram("ru") == from_telegram("ru-RU") == "ru"
    assert from_telegram("en") == from_telegram("uk") == from_telegram("de-AT") == "en"
    assert from_telegram(None) == from_telegram("") == "en"
    assert from_telegram(None, default="ru") == "ru"
    assert parse_choice("RU") == parse_choice("русский") == "ru"
    assert parse_choice("auto") == "auto"
    assert parse_choice("fr") is None


def test_provider_errors_read_naturally_in_russian_and_unchanged_in_english() -> None:
    en, ru = translator("en"), translator("ru")
    down = ProviderUnavailable("cannot be reached right now", provider="ARTA")
    assert error_text(en, down) == "ARTA: cannot be reached right now"
    assert error_text(ru, down) == "ARTA: сейчас недоступен"
    too_many = InvalidOption("arta/flux makes 1 to 4 images at a time.")
    assert error_text(ru, too_many) == "arta/flux рисует от 1 до 4 изображений за раз."
    unknown = RateLimited("a sentence nobody translated", provider="fal")
    assert error_text(ru, unknown) == "fal: перегружен или исчерпал квоту; попробуйте позже"
    assert error_text(ru, UnknownModel("fluxx", ["arta/flux"])) == (
        "Неизвестная модель «fluxx». Может быть, вы имели в виду: arta/flux?"
    )
    assert adjustment_text(ru, "1 image instead of 4") == "1 изображение вместо 4"
    assert adjustment_text(ru, "16:9 instead of 21:9") == "16:9 вместо 21:9"


ERROR_CLASSES = {
    "ProviderError",
    "ResponseError",
    "RateLimited",
    "AuthError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "InvalidOption",
    "NotAPicture",
}


def fixed_provider_sentences() -> list[tuple[str, str]]:
    """(file, sentence) for every provider error raised with a literal sentence."""
    files = [
        *sorted((ROOT / "providers").rglob("*.py")),
        *sorted((ROOT / "bot" / "pictures").glob("*.py")),
    ]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0]
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if name in ERROR_CLASSES and literal:
                found.append((path.name, ast.literal_eval(first)))
    return found


def test_every_fixed_provider_sentence_has_its_own_russian_text() -> None:
    """A provider sentence the bot has no pattern for would fall back to a generic one."""
    sentences = fixed_provider_sentences()
    assert len(sentences) > 30
    ru = translator("ru")
    generic = ru.gettext("failed to do this job")  # what a sentence without a pattern becomes
    missing = [f"{file}: {text!r}" for file, text in sentences if sentence(ru, text) == generic]
    assert not missing, "add a pattern to bot/provider_texts.py:\n" + "\n".join(missing)
