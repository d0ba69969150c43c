"""Request decoding: form, multipart and JSON bodies into Params with Telegram's errors."""

from __future__ import annotations

import contextlib
import email.message
import json
from typing import Any

from tests.fakes.telegram.errors import ApiError
from tests.fakes.telegram.records import UploadedFile

# Parameters decoded for Call.params (form values are strings on the wire).
JSON_FIELDS = frozenset(
    [
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "media",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "message_ids",
        "results",
        "button",
    ]
)
INT_FIELDS = frozenset(
    [
        "message_id",
        "user_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "cache_time",
        "message_thread_id",
        "draft_id",
    ]
)
BOOL_FIELDS = frozenset(
    [
        "disable_notification",
        "protect_content",
        "show_alert",
        "allow_sending_without_reply",
        "drop_pending_updates",
        "has_spoiler",
        "show_caption_above_media",
        "disable_web_page_preview",
        "is_personal",
    ]
)


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Splits a multipart/form-data body into text fields and file parts."""
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ApiError("Bad Request: can't parse multipart/form-data: no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        return {}, {}
    fields: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for chunk in body[start + len(delimiter) :].split(b"\r\n" + delimiter):
        if chunk.startswith(b"--"):
            break
        raw_headers, sep, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        part = email.message.Message()
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            part[key.strip()] = value.strip()
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        if not isinstance(name, str):
            continue
        if filename is not None:
            files[name] = UploadedFile(
                name, filename, part.get_content_type() or "application/octet-stream", content
            )
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


def _decode_value(name: str, value: Any) -> Any:
    """Form values are strings; give tests the values the bot meant."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    elif name in INT_FIELDS or name == "chat_id":
        with contextlib.suppress(ValueError):
            return int(value)
    elif name in BOOL_FIELDS:
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
    return value


class Params:
    """The decoded parameters of one call, with typed accessors that raise Telegram's errors."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.files

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def number(self, name: str, default: float) -> float:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, error: str) -> Any:
        """A JSON-encoded field (still a string when it did not parse)."""
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(error) from None
        return value

    def file(self, name: str) -> UploadedFile | str | None:
        """An InputFile parameter: an upload part, ``attach://`` reference, URL or file_id."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.files.get(value.removeprefix("attach://"))
        return value if isinstance(value, str) and value else None
