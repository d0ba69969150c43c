"""The incremental SSE parser: events come out whole however the bytes are split."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from providers.core.sse import SseEvent, SseParser, iter_sse
from tests.fakes.server import FakeServer

PAYLOAD = (
    "event: heartbeat\r\ndata: null\r\n\r\n"
    ": a comment\n"
    "event: generating\ndata: [1,\ndata:  2]\n\n"
    'data: {"text": "Кот в шляпе 🎩"}\r\r'
    'event: complete\rdata: ["done"]\r\n\r\n'
).encode()

EXPECTED = [
    SseEvent("heartbeat", "null"),
    SseEvent("generating", "[1,\n 2]"),
    SseEvent("message", '{"text": "Кот в шляпе 🎩"}'),
    SseEvent("complete", '["done"]'),
]


def feed_all(chunks: list[bytes]) -> list[SseEvent]:
    parser = SseParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_whole_payload() -> None:
    assert feed_all([PAYLOAD]) == EXPECTED


@pytest.mark.parametrize("cut", range(1, len(PAYLOAD)))
def test_split_at_any_byte_gives_the_same_events(cut: int) -> None:
    assert feed_all([PAYLOAD[:cut], PAYLOAD[cut:]]) == EXPECTED


def test_one_byte_at_a_time() -> None:
    assert feed_all([PAYLOAD[i : i + 1] for i in range(len(PAYLOAD))]) == EXPECTED


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    # Were the LF taken as a second line end, the blank line would dispatch "a" too early.
    chunks = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    assert feed_all(chunks) == [SseEvent("message", "a\nb")]


def test_cr_line_endings() -> None:
    assert feed_all([b"event: x\rdata: 1\r\rdata: 2\r\r"]) == [
        SseEvent("x", "1"),
        SseEvent("message", "2"),
    ]


def test_comments_and_unknown_fields_are_ignored() -> None:
    payload = b": ping\nid: 7\nretry: 100\nevent: e\n:another\ndata:x\n\n"
    assert feed_all([payload]) == [SseEvent("e", "x")]


def test_event_without_data_is_not_dispatched_and_name_resets() -> None:
    assert feed_all([b"event: lonely\n\ndata: after\n\n"]) == [SseEvent("message", "after")]


def test_only_one_leading_space_is_stripped() -> None:
    assert feed_all([b"data:   spaced \n\n"]) == [SseEvent("message", "  spaced ")]


def test_utf8_character_split_across_chunks() -> None:
    raw = "data: ёж 🎩\n\n".encode()
    cut = raw.index("🎩".encode()) + 2
    parser = SseParser()
    assert parser.feed(raw[:cut]) == []
    assert parser.feed(raw[cut:]) == [SseEvent("message", "ёж 🎩")]


def test_incomplete_event_is_held_back() -> None:
    parser = SseParser()
    assert parser.feed(b"event: complete\ndata: [1]\n") == []
    assert parser.feed(b"\n") == [SseEvent("complete", "[1]")]


def test_leading_byte_order_mark_is_dropped() -> None:
    assert feed_all([b"\xef\xbb", b"\xbfdata: x\n\n"]) == [SseEvent("message", "x")]


class Streamer(FakeServer):
    """Writes ``pieces`` one by one; then ends the stream, or holds it open until ``release``."""

    def __init__(self, pieces: list[bytes], *, hold: bool = False) -> None:
        super().__init__()
        self.pieces = pieces
        self.hold = hold
        self.release = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/stream", self._stream)]

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in self.pieces:
            await response.write(piece)
        if self.hold:
            await self.release.wait()
        await response.write_eof()
        return response


async def collect(url: str, read_timeout: float, into: list[SseEvent]) -> None:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        async for event in iter_sse(response, read_timeout):
            into.append(event)


async def test_iter_sse_reads_a_chunked_stream_to_its_end() -> None:
    pieces = [PAYLOAD[i : i + 5] for i in range(0, len(PAYLOAD), 5)]
    events: list[SseEvent] = []
    fake = Streamer(pieces)
    async with fake:
        await collect(f"{fake.url}/stream", 5, events)
    assert events == EXPECTED


async def test_iter_sse_times_out_on_a_silent_stream_after_yielding_what_came() -> None:
    events: list[SseEvent] = []
    fake = Streamer([b"event: heartbeat\ndata: null\n\n"], hold=True)
    async with fake:
        try:
            with pytest.raises(TimeoutError):
                await collect(f"{fake.url}/stream", 0.2, events)
        finally:
            fake.release.set()
    assert events == [SseEvent("heartbeat", "null")]
