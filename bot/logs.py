"""Logging set-up: one line per event, libraries quiet, and the bot token never printed."""

from __future__ import annotations

import logging
import re
from typing import TextIO

TOKEN_RE = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,64}")


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces anything shaped like a bot token (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return TOKEN_RE.sub("<token>", super().format(record))


def setup(level: str, stream: TextIO | None = None) -> None:
    """Configures the root logger (to stderr by default); httpx, which logs request URLs with
    the token in them, stays quiet."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
