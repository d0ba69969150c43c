"""Logging set-up: one line per event, libraries quiet, and the bot token never printed."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO

# A bot token, also with its colon percent-encoded as in some URLs.
TOKEN_RE = re.compile(r"\d{3,20}(?::|%3[Aa])[A-Za-z0-9_-]{20,64}")

_secrets: set[str] = set()


def hide(token: str) -> None:
    """From now on :func:`redact` also removes ``token`` and its secret half (the part after
    the colon), whatever their shape: a test token or a changed format is hidden too."""
    token = token.strip()
    if len(token) >= 8:
        _secrets.add(token)
    secret = token.partition(":")[2]
    if len(secret) >= 8:
        _secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with anything shaped like a bot token, and the secrets :func:`hide` was given,
    replaced by ``<token>``."""
    text = TOKEN_RE.sub("<token>", text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "<token>")
    return text


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces anything shaped like a bot token (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(kind, error, tb))))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit:
        name = args.thread.name if args.thread is not None else "?"
        sys.stderr.write(f"Exception in thread {name}:\n")
        _excepthook(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)


# What a job's end line carries besides its message (passed as ``extra=``; see bot.jobs.progress).
class _Named(logging.Filter):
    """Stamps every record with the replica that logged it (the JSON lines' ``replica``)."""

    def __init__(self, replica: str) -> None:
        super().__init__()
        self.replica = replica

    def filter(self, record: logging.LogRecord) -> bool:
        record.replica = self.replica
        return True


JOB_FIELDS = (
    "replica",
    "job",
    "kind",
    "chat",
    "model",
    "provider",
    "outcome",
    "code",
    "stage",
    "duration",
    "reason",
    "prompt",
)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the job fields a
    record carries, and the traceback if any; every string redacted like the text lines."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JOB_FIELDS:
            if name in record.__dict__:
                data[name] = record.__dict__[name]
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        clean = {
            key: redact(value) if isinstance(value, str) else value for key, value in data.items()
        }
        return json.dumps(clean, ensure_ascii=False, default=lambda value: redact(str(value)))


def setup(
    level: str, stream: TextIO | None = None, fmt: str = "text", replica: str | None = None
) -> None:
    """Configures the root logger (to stderr by default), as text lines or (``fmt="json"``)
    JSON objects, each naming ``replica`` when given (several share a database); httpx, which
    logs request URLs with the token in them, stays quiet."""
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        where = f"[{replica}] " if replica else ""
        handler.setFormatter(
            RedactingFormatter(f"%(asctime)s {where}%(levelname)s %(name)s: %(message)s")
        )
    if replica:
        handler.addFilter(_Named(replica))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def redact_uncaught() -> None:
    """Uncaught exceptions (in the main thread or others) print their traceback redacted."""
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
