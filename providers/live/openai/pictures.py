"""Pictures in OpenAI-style answers: ``b64_json`` strings, data URLs and http(s) URLs."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from providers.core.errors import ErrorCode, ResponseError


def image_results(data: Any, label: str) -> list[str | bytes]:
    """The pictures of an images answer (generations or edits): decoded ``b64_json`` bytes or
    ``url`` strings, in order; ResponseError when there is none or one cannot be decoded."""
    items = data.get("data") if isinstance(data, dict) else None
    images: list[str | bytes] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        b64, url = item.get("b64_json"), item.get("url")
        if isinstance(b64, str) and b64:
            images.append(decode_base64(b64, label))
        elif isinstance(url, str) and (picture := picture_from_url(url, label)) is not None:
            images.append(picture)
    if not images:
        raise ResponseError(ErrorCode.NO_PICTURES, provider=label)
    return images


def picture_from_url(url: str, label: str) -> str | bytes | None:
    """The bytes of a ``data:...;base64,`` URL, an http(s) URL as it is, None for anything
    else; ResponseError when a data URL cannot be decoded."""
    url = url.strip()
    if url.startswith("data:") and ";base64," in url:
        return decode_base64(url.partition(";base64,")[2], label)
    if url.startswith(("http://", "https://")):
        return url
    return None


def decode_base64(b64: str, label: str) -> bytes:
    """The bytes of a base64 string (whitespace allowed); ResponseError when it is not base64."""
    try:
        return base64.b64decode("".join(b64.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ResponseError(ErrorCode.UNDECODABLE_PICTURE, provider=label) from None
