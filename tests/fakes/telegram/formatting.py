"""Message text as Telegram stores it (entities, HTML subset, trimming, limits); keyboards."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.telegram.errors import (
    BAD_MARKUP,
    BUTTON_DATA_INVALID,
    BUTTON_URL_INVALID,
    CALLBACK_DATA_LIMIT,
    ApiError,
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class _ParseError(Exception):
    pass


class _Builder:
    """Accumulates parsed text while tracking its UTF-16 length."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.u16 += utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        (e for e in entities if e["length"] > 0), key=lambda e: (e["offset"], -e["length"])
    )


def _normalize_url(url: str) -> str | None:
    """What Telegram keeps of a link's URL (None: the link is dropped)."""
    url = url.strip()
    if not url:
        return None
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        scheme = url.split(":", 1)[0].lower()
        if scheme in ("http", "https", "ftp", "tg", "ton", "tonsite"):
            return url
        return None
    host = re.split(r"[/?#]", url, maxsplit=1)[0]
    if "." not in host or host.startswith(".") or host.endswith("."):
        return None
    rest = url[len(host) :]
    return f"http://{host}{rest if rest.startswith('/') else '/' + rest}"


# Telegram's HTML as far as the bot uses it (its describe answer: escaped text in <code>):
# the simple tags, without attributes. Links, custom emoji and code languages are refused.
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}


_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(
    r"&(?:#(?P<dec>[0-9]{1,8})|#[xX](?P<hex>[0-9a-fA-F]{1,8})|(?P<name>[a-zA-Z]+));?"
)


def _html_unescape_at(text: str, i: int) -> tuple[str, int]:
    """Decodes the character reference at text[i] ('&'); literal '&' if it is not one."""
    match = _HTML_ENTITY.match(text, i)
    if match:
        if match["name"] is not None:
            if match["name"] in _HTML_NAMED:
                return _HTML_NAMED[match["name"]], match.end()
        else:
            code = int(match["dec"]) if match["dec"] is not None else int(match["hex"], 16)
            if 0xD800 <= code <= 0xDFFF:
                raise _ParseError(
                    "Text contains invalid Unicode characters after decoding HTML entities, "
                    "check for unmatched surrogate code units"
                )
            if 0 < code < 0x110000:
                return chr(code), match.end()
    return "&", i + 1


def _is_name_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-_")


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parses the HTML subset like TDLib's parse_html: plain text + entities, or _ParseError
    with TDLib's texts (an attribute, which only the refused tags need, is an error here)."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int]] = []  # open tag, UTF-16 offset
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded, i = _html_unescape_at(text, i)
            out.add(decoded)
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        at = _byte_offset(text, i)
        closing = text.startswith("</", i)
        j = k = i + (2 if closing else 1)
        while k < n and _is_name_char(text[k]):
            k += 1
        name = text[j:k].lower()
        while k < n and text[k] in " \t\r\n":
            k += 1
        if closing:
            if not stack:
                raise _ParseError(f"Unexpected end tag at byte offset {at}")
            if k >= n or text[k] != ">":
                raise _ParseError(f"Unclosed end tag at byte offset {at}")
            tag, offset = stack.pop()
            if name and name != tag:
                raise _ParseError(
                    f'Unmatched end tag at byte offset {at}, expected "</{tag}>", found "</{name}>"'
                )
            entities.append({"type": _HTML_TAGS[tag], "offset": offset, "length": out.u16 - offset})
        else:
            if k >= n:
                raise _ParseError(f"Unclosed start tag at byte offset {at}")
            if name not in _HTML_TAGS:
                raise _ParseError(f'Unsupported start tag "{name}" at byte offset {at}')
            if text[k] != ">":
                raise _ParseError(
                    f'the emulator supports no attributes (tag "{name}" at byte offset {at})'
                )
            stack.append((name, out.u16))
        i = k + 1
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text(), _sorted_entities(entities)


_ENTITY_KEYS = ("type", "offset", "length", "url", "language", "custom_emoji_id", "user")
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entities Telegram adds to a user's text (``/cmd`` and ``/cmd@bot``)."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group()),
        }
        for m in _COMMAND.finditer(text)
    ]


def _explicit_entities(raw: Any, text: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ApiError("Bad Request: can't parse entities JSON object") from None
    if not isinstance(raw, list):
        raise ApiError("Bad Request: can't parse entities JSON object")
    total = utf16_len(text)
    result = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ApiError('Bad Request: can\'t parse MessageEntity: field "type" is required')
        try:
            offset, length = int(item["offset"]), int(item["length"])
        except (KeyError, TypeError, ValueError):
            raise ApiError("Bad Request: can't parse MessageEntity: bad offset or length") from None
        offset = max(0, min(offset, total))
        length = max(0, min(length, total - offset))
        entity = {k: item[k] for k in _ENTITY_KEYS if k in item}
        entity.update(offset=offset, length=length)
        result.append(entity)
    return _sorted_entities(result)


_TRIM = " \t\r\n\x0b\x0c"


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims whitespace around a message; entities move and shrink with the text."""
    lead = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    trimmed = text.strip(_TRIM)
    total = utf16_len(trimmed)
    result = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return trimmed, result


def format_text(
    raw: str | None,
    parse_mode: str | None,
    raw_entities: Any,
    *,
    limit: int,
    too_long: str,
    empty: str | None,
) -> tuple[str | None, list[dict[str, Any]]]:
    """Turns (text, parse_mode, entities) into what Telegram stores, or raises ApiError.

    ``empty`` is the error for an empty result; None means empty is fine (captions).
    """
    if raw is None or raw == "":
        if empty is not None:
            raise ApiError(empty)
        return None, []
    mode = (parse_mode or "").lower()
    if mode in ("markdownv2", "markdown"):  # the bot sends entities (telegramify-markdown)
        raise ApiError(
            f"Bad Request: can't parse entities: parse_mode {parse_mode} is not emulated "
            "(send entities or HTML)"
        )
    if mode not in ("", "none", "html"):
        raise ApiError("Bad Request: unsupported parse_mode")
    try:
        if mode == "html":
            text, entities = parse_html(raw)
        else:
            text, entities = raw, _explicit_entities(raw_entities, raw)
    except _ParseError as exc:
        raise ApiError(f"Bad Request: can't parse entities: {exc}") from None
    text, entities = _trim(text, entities)
    if not text:
        if empty is not None:
            raise ApiError(empty)
        return None, []
    if len(text) > limit:
        raise ApiError(too_long)
    return text, entities


_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def validate_reply_markup(raw: Any) -> dict[str, Any] | None:
    """Checks a reply_markup like Telegram; an empty inline keyboard means no markup."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ApiError(BAD_MARKUP) from None
    if not isinstance(raw, dict):
        raise ApiError(BAD_MARKUP)
    if "inline_keyboard" not in raw:
        if any(k in raw for k in ("keyboard", "remove_keyboard", "force_reply")):
            return raw
        raise ApiError(BAD_MARKUP)
    rows = raw["inline_keyboard"]
    if not isinstance(rows, list):
        raise ApiError(
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
        )
    for row in rows:
        if not isinstance(row, list):
            raise ApiError("Bad Request: can't parse inline keyboard button: row must be an Array")
        for button in row:
            if not isinstance(button, dict):
                raise ApiError(
                    "Bad Request: can't parse inline keyboard button: "
                    "InlineKeyboardButton must be an Object"
                )
            if not isinstance(button.get("text"), str):
                raise ApiError(
                    "Bad Request: can't parse inline keyboard button: "
                    'Field "text" must be of type String'
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(BUTTON_DATA_INVALID)
            elif "url" in button:
                url = button["url"]
                if not isinstance(url, str) or _normalize_url(url) is None:
                    raise ApiError(BUTTON_URL_INVALID)
            elif not any(k in button for k in _BUTTON_ACTIONS):
                raise ApiError(
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
    if not any(rows):
        return None
    return {"inline_keyboard": rows}
