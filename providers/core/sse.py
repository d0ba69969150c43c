"""An incremental Server-Sent Events parser (the WHATWG event-stream format) for aiohttp streams."""

from __future__ import annotations

import asyncio
import codecs
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import aiohttp

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event: its name (``message`` unless the server named it) and its data."""

    event: str
    data: str


class SseParser:
    """Feed it raw chunks as they arrive; it returns the events completed by each chunk.

    Lines may be split anywhere, even inside a UTF-8 character or between CR and LF.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._buffer = ""
        self._skip_lf = False
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """The events whose terminating blank line is in ``chunk``, in order."""
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._skip_lf and text.startswith("\n"):
            text = text[1:]
        buffer = self._buffer + text
        events: list[SseEvent] = []
        start = 0
        for match in _LINE_END.finditer(buffer):
            event = self._line(buffer[start : match.start()])
            start = match.end()
            if event is not None:
                events.append(event)
        # A CR at the very end may be the first half of a CRLF split across chunks.
        self._skip_lf = buffer.endswith("\r")
        self._buffer = buffer[start:]
        return events

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def _dispatch(self) -> SseEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        return SseEvent(event, "\n".join(data)) if data else None


async def iter_sse(
    response: aiohttp.ClientResponse, read_timeout: float
) -> AsyncGenerator[SseEvent, None]:
    """The events of a streamed response, until the server ends it.

    Raises TimeoutError when one read waits longer than ``read_timeout`` seconds, and
    aiohttp's errors when the connection breaks.
    """
    parser = SseParser()
    while True:
        async with asyncio.timeout(read_timeout):
            chunk = await response.content.readany()
        if not chunk:
            return
        for event in parser.feed(chunk):
            yield event
