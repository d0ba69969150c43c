"""Logging set-up: one line per event, libraries quiet, and the bot token never printed."""

from __future__ import annotations

import logging
import re

TOKEN_RE = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,64}")


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces anything shaped like a bot token (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return TOKEN_RE.sub("<token>", super().format(record))


def setup(level: str) -> None:
    """Configures the root logger; httpx (which logs request URLs, token included) stays quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
