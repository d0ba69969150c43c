"""Both languages everywhere: the catalogues are complete, compiled, and used in the code."""

from __future__ import annotations

import ast
import dataclasses
import gettext
import json
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, from_telegram, parse_choice, translator
from bot.i18n.errors import (
    ADJUSTMENTS,
    COUNTED,
    OPTIONS,
    TEXTS,
    adjustment_text,
    error_text,
    recorded_error_text,
    sentence,
    switched_parts,
)
from bot.storage.health import _error_record, _stored_error
from bot.telegram import render
from providers import (
    Adjustment,
    AdjustmentCode,
    ErrorCode,
    InvalidOption,
    Kind,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    Switched,
    UnknownModel,
    default_registry,
)
from providers.core.errors import OPTION_WORDS, SENTENCES, Param, english
from providers.routing.fallback import AllFailed
from providers.routing.health import Health

ROOT = Path(__file__).resolve().parents[3]
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
    down = ProviderUnavailable(ErrorCode.UNREACHABLE, provider="ARTA")
    assert error_text(en, down) == "ARTA: cannot be reached right now"
    assert error_text(ru, down) == "ARTA: сейчас недоступен"
    too_many = InvalidOption(ErrorCode.IMAGE_COUNT, model="arta/flux", max=4)
    assert error_text(en, too_many) == "arta/flux makes 1 to 4 images at a time."
    assert error_text(ru, too_many) == "arta/flux рисует от 1 до 4 изображений за раз."
    slow = ProviderTimeout(ErrorCode.DEADLINE, provider="fal", seconds=300.0)
    assert error_text(en, slow) == "fal: did not finish within 300 seconds"
    assert error_text(ru, slow) == "fal: не справился за 300 с"
    assert error_text(ru, UnknownModel("fluxx", ["arta/flux"])) == (
        "Неизвестная модель «fluxx». Может быть, вы имели в виду: arta/flux?"
    )
    assert error_text(ru, UnknownModel("fluxx", [])) == "Неизвестная модель «fluxx»."
    assert adjustment_text(ru, Adjustment(AdjustmentCode.ONE_IMAGE, {"count": 1, "wanted": 4})) == (
        "1 изображение вместо 4"
    )
    assert adjustment_text(ru, Adjustment(AdjustmentCode.IMAGES, {"count": 2, "wanted": 4})) == (
        "2 изображения вместо 4"
    )
    ratio = Adjustment(AdjustmentCode.RATIO, {"ratio": "16:9", "wanted": "21:9"})
    assert (adjustment_text(en, ratio), adjustment_text(ru, ratio)) == (
        "16:9 instead of 21:9",
        "16:9 вместо 21:9",
    )
    option = InvalidOption(ErrorCode.TAKES_RANGE, provider="Space", option="cfg", low=1, high=9)
    assert error_text(en, option) == "Space: takes a guidance scale from 1 to 9"
    assert error_text(ru, option) == "Space: принимает guidance scale от 1 до 9"


# A value for every parameter any code names.
SAMPLE: dict[str, Param] = {
    "seconds": 30.0,
    "attempts": 60,
    "status": 503,
    "detail": "model_not_found",
    "reason": "out of memory",
    "path": "/predict",
    "known": "/infer",
    "endpoint": "/predict",
    "name": "arta/flux",
    "kind": "image",
    "key": "images",
    "model": "arta/flux",
    "max": 4,
    "allowed": "1:1, 16:9",
    "value": "21:9",
    "low": 1,
    "high": 50,
    "option": "steps",
    "mb": 20,
    "width": 40000,
    "height": 300,
    "suggestions": "arta/flux, arta/sdxl",
    "listed": "arta/flux: ARTA is down",
}


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_has_an_english_and_a_russian_text(code: ErrorCode) -> None:
    """English is the providers' own sentence; Russian is a translation, not a fallback."""
    assert TEXTS[code] == SENTENCES[code], "bot/i18n/errors.py must word it as providers do"
    error = ProviderError(code, provider="ARTA", **SAMPLE)
    en, ru = translator("en"), translator("ru")
    assert sentence(en, error) == str(error) == english(code, SAMPLE)
    assert error_text(en, error) == error.user_message == f"ARTA: {error}"
    russian = sentence(ru, error)
    assert russian != str(error), f"no Russian text for {code}"
    assert russian != ru.gettext("failed to do this job")
    assert not re.search(r"\{\w*\}", russian), russian


@pytest.mark.parametrize("option", ["seed", "steps", "cfg"])
def test_every_option_word_has_an_english_and_a_russian_text(option: str) -> None:
    assert OPTIONS[option] == OPTION_WORDS[option]
    assert translator("ru").gettext(OPTIONS[option]) != OPTION_WORDS[option]


@pytest.mark.parametrize("code", list(AdjustmentCode))
def test_every_adjustment_has_an_english_and_a_russian_text(code: AdjustmentCode) -> None:
    count = 1 if code is AdjustmentCode.ONE_IMAGE else 2
    note = Adjustment(
        code,
        {"ratio": "16:9", "wanted": "21:9" if code is AdjustmentCode.RATIO else 4, "count": count},
    )
    assert code in ADJUSTMENTS or code in COUNTED
    assert adjustment_text(translator("en"), note) == str(note)
    assert adjustment_text(translator("ru"), note) != str(note)


def test_fallback_reasons_and_failures_of_every_model_in_russian() -> None:
    en, ru = translator("en"), translator("ru")
    down = ProviderUnavailable(ErrorCode.DOWN, provider="ARTA")
    event = Switched("arta/flux", "fal/flux", down, (Adjustment(AdjustmentCode.RANDOM_SEED),))
    assert switched_parts(en, event, "ARTA") == ("ARTA is down", ["a random seed"])
    assert switched_parts(ru, event, "ARTA") == ("ARTA: сейчас не работает", ["случайный seed"])
    entry = default_registry().entries_of(Kind.IMAGE)[0]
    failed = AllFailed([(entry, down), (entry, ProviderTimeout(ErrorCode.TIMEOUT))])
    label = entry.provider.label
    assert str(failed) == (
        f"No model could take this job right now ({entry.id}: ARTA is down; "
        f"{entry.id}: {label} took too long to answer)."
    )
    assert error_text(en, failed) == str(failed)
    assert error_text(ru, failed) == (
        f"Сейчас ни одна модель не смогла взяться за эту задачу ({entry.id}: ARTA: сейчас не "
        f"работает; {entry.id}: {label}: слишком долго не отвечает)."
    )


def test_the_recorded_last_error_reads_in_the_readers_language() -> None:
    en, ru = translator("en"), translator("ru")
    coded = Health(
        "arta",
        last_error="ARTA: is having trouble (HTTP 502)",
        last_error_code=ErrorCode.TROUBLE_HTTP,
        last_error_params={"status": 502},
    )
    assert recorded_error_text(en, coded, "ARTA") == "ARTA: is having trouble (HTTP 502)"
    assert recorded_error_text(ru, coded, "ARTA") == "ARTA: работает со сбоями (HTTP 502)"
    old = Health("arta", last_error="ARTA: cannot be reached right now")  # saved before codes
    assert recorded_error_text(ru, old, "ARTA") == "ARTA: cannot be reached right now"
    broken = dataclasses.replace(coded, last_error_params={})  # params from another version
    assert recorded_error_text(ru, broken, "ARTA") == "ARTA: is having trouble (HTTP 502)"


def test_the_health_record_keeps_the_code_and_reads_old_rows() -> None:
    coded = Health(
        "arta",
        last_error="ARTA: is having trouble (HTTP 502)",
        last_error_code=ErrorCode.TROUBLE_HTTP,
        last_error_params={"status": 502},
    )
    stored = _error_record(coded)
    assert stored is not None and json.loads(stored)["code"] == "trouble_http"
    assert _stored_error(stored) == {
        "last_error": "ARTA: is having trouble (HTTP 502)",
        "last_error_code": ErrorCode.TROUBLE_HTTP,
        "last_error_params": {"status": 502},
    }
    assert _stored_error("ARTA: cannot be reached right now") == {
        "last_error": "ARTA: cannot be reached right now"
    }
    unknown = json.dumps({"text": "ARTA: gone", "code": "no_such_code", "params": {}})
    assert _stored_error(unknown) == {"last_error": unknown}
    assert _stored_error(None) == {"last_error": None}


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


def test_provider_errors_are_raised_with_a_code_not_a_sentence() -> None:
    """A sentence passed as text would have no Russian: every error names its ErrorCode."""
    files = [*sorted((ROOT / "providers").rglob("*.py")), *sorted((ROOT / "bot").rglob("*.py"))]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0]
            if name in ERROR_CLASSES and isinstance(first, ast.Constant | ast.JoinedStr):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "raise these with an ErrorCode:\n" + "\n".join(found)
