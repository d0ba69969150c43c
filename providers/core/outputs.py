"""Reading what a hosted model hands back: image addresses, and its own words when it fails."""

from __future__ import annotations

import base64
import binascii
import re

from providers.core.errors import ErrorCode, ResponseError

ERROR_TEXT_LIMIT = 200


def image_source(value: object, provider: str) -> str | bytes:
    """An image result as ImageResponse carries it: an http(s) URL as it is, a ``data:`` URL
    decoded to its bytes. Anything else is a ResponseError naming the provider."""
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    if isinstance(value, str) and value.startswith("data:") and ";base64," in value:
        try:
            return base64.b64decode(value.split(",", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            pass
    raise ResponseError(ErrorCode.UNREADABLE_IMAGE, provider=provider)


def upstream_error(text: object, secret: str | None = None) -> str:
    """A model's own error message fit for a chat: one line, at most ERROR_TEXT_LIMIT
    characters, with ``secret`` (our key) blanked out should an upstream ever echo it."""
    line = re.sub(r"\s+", " ", str(text or "")).strip()
    if secret:
        line = line.replace(secret, "***")
    if len(line) > ERROR_TEXT_LIMIT:
        line = line[: ERROR_TEXT_LIMIT - 1].rstrip() + "…"
    return line or "no reason given"
