"""A loopback Hugging Face Space speaking Gradio's ``/gradio_api/call/infer`` protocol.

POST ``/gradio_api/call/infer`` validates ``{"data": [8 inputs]}`` (422 with a FastAPI-style
``detail`` otherwise) and answers ``{"event_id": <32 hex>}``; GET
``/gradio_api/call/infer/{event_id}`` streams the job's Server-Sent Events; result files
are served as WebP under ``/gradio_api/file=<path>``. Tests set the knobs before a job.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeServer

Outcome = Literal[
    "complete",
    "error",
    "error_null",
    "not_found",
    "no_file",
    "garbage",
    "heartbeats",
    "silent",
    "end",
    "cut",
]

INPUTS: list[tuple[str, tuple[type, ...]]] = [
    ("prompt", (str,)),
    ("negative_prompt", (str,)),
    ("seed", (int,)),
    ("randomize_seed", (bool,)),
    ("width", (int, float)),
    ("height", (int, float)),
    ("guidance_scale", (int, float)),
    ("num_inference_steps", (int, float)),
]


@dataclass
class Job:
    """One submitted call: its inputs and whether its stream has already been sent."""

    data: list[Any]
    finished: bool = False


def webp_bytes(width: int = 32, height: int = 32) -> bytes:
    """A small real WebP picture."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 60, 30)).save(buffer, format="WEBP")
    return buffer.getvalue()


class FakeSD35(FakeServer):
    """The SD 3.5 Large Space. Knobs (plain attributes):

    ``outcome``: ``complete`` (the result), ``error`` (Gradio's error dict with ``error_message``
    and ``error_title``, by default ZeroGPU's quota error),
    ``error_null`` (``{"error": null}``), ``not_found`` (the string "404: Not Found", then the
    connection is cut), ``no_file`` (``complete`` with ``[null, seed]``), ``garbage``
    (``complete`` whose data is not JSON), ``heartbeats`` (heartbeats every
    ``heartbeat_interval`` seconds, forever), ``silent`` (nothing more, the stream stays open),
    ``end`` (the stream ends cleanly without a result), ``cut`` (the connection is cut).
    ``previews``: ``generating`` events before the result; ``heartbeats``: heartbeats first.
    ``chunk_size``: write every event in pieces of this many bytes, one write each.
    ``line_ending``: ``"\\n"``, ``"\\r\\n"`` or ``"\\r"``. ``url_in_file``: FileData carries a url.
    ``omit_event_id``: the POST answers ``{}``. ``heartbeat_interval``: seconds between the
    endless heartbeats of an already finished event (the real Space sends one every 15 s).
    ``end_gate``: an event the stream waits for after the result, before it ends.

    Records: ``jobs`` by event id, ``gets`` (stream GETs per event id) and ``authorizations``
    (the Authorization header of every call, None when absent).
    """

    def __init__(self) -> None:
        super().__init__()
        self.outcome: Outcome = "complete"
        self.previews = 0
        self.heartbeats = 0
        self.chunk_size: int | None = None
        self.line_ending = "\n"
        self.url_in_file = True
        self.omit_event_id = False
        self.error_message = "GPU quota exceeded"
        self.error_title = "ZeroGPU quota exceeded"
        self.heartbeat_interval = 15.0
        self.end_gate: asyncio.Event | None = None
        self.jobs: dict[str, Job] = {}
        self.gets: dict[str, int] = {}
        self.authorizations: list[str | None] = []
        self.image = webp_bytes()
        self._streams: set[asyncio.Task[Any]] = set()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/gradio_api/call/infer", self._submit),
            web.get("/gradio_api/call/infer/{event_id}", self._stream),
            web.get("/gradio_api/file={path:.+}", self._file),
        ]

    async def stop(self) -> None:
        """Ends open streams first: a silent or endless stream would hold the shutdown."""
        for task in list(self._streams):
            task.cancel()
        await super().stop()

    def file_data(self, name: str) -> dict[str, Any]:
        """Gradio's FileData for an output file."""
        path = f"/tmp/gradio/{uuid.uuid4().hex}/{name}"
        return {
            "path": path,
            "url": f"{self.url}/gradio_api/file={path}" if self.url_in_file else None,
            "size": None,
            "orig_name": name,
            "mime_type": None,
            "is_stream": False,
            "meta": {"_type": "gradio.FileData"},
        }

    async def _submit(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        try:
            body = await request.json()
        except ValueError:
            return _unprocessable("json_invalid", ["body"], "JSON decode error", None)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            return _unprocessable("missing", ["body", "data"], "Field required", body)
        if len(data) != len(INPUTS):
            return _unprocessable(
                "value_error", ["body", "data"], f"Expected {len(INPUTS)} inputs", data
            )
        for index, ((name, types), value) in enumerate(zip(INPUTS, data, strict=True)):
            wrong_bool = isinstance(value, bool) and bool not in types
            if wrong_bool or not isinstance(value, types):
                return _unprocessable(
                    "type_error", ["body", "data", index], f"Invalid value for {name}", value
                )
        if self.omit_event_id:
            return web.json_response({})
        event_id = uuid.uuid4().hex
        self.jobs[event_id] = Job(data)
        return web.json_response({"event_id": event_id})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self.authorizations.append(request.headers.get("Authorization"))
        event_id = request.match_info["event_id"]
        job = self.jobs.get(event_id)
        if job is None:
            return web.json_response({"detail": "Not Found"}, status=404)
        self.gets[event_id] = self.gets.get(event_id, 0) + 1
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            if job.finished:
                await self._heartbeats_forever(response)
            job.finished = True
            await self._play(request, response, job)
        except ConnectionError:
            pass
        finally:
            self._streams.discard(task)
        return response

    async def _play(self, request: web.Request, response: web.StreamResponse, job: Job) -> None:
        for _ in range(self.heartbeats):
            await self._send(response, "heartbeat", None)
        seed = self.job_seed(job)
        for index in range(self.previews):
            await self._send(
                response, "generating", [self.file_data(f"preview_{index}.webp"), seed]
            )
        outcome, end = self.outcome, self.line_ending
        if outcome == "complete":
            await self._send(response, "complete", [self.file_data("image.webp"), seed])
        elif outcome == "error":
            error = {"error": self.error_message, "title": self.error_title}
            await self._send(response, "error", {**error, "duration": None, "visible": True})
        elif outcome == "error_null":
            await self._send(response, "error", {"error": None})
        elif outcome == "not_found":
            await self._send(response, "error", "404: Not Found")
            _cut(request)
        elif outcome == "no_file":
            await self._send(response, "complete", [None, seed])
        elif outcome == "garbage":
            await self._write(response, f"event: complete{end}data: <html>oops{end}{end}")
        elif outcome == "heartbeats":
            await self._heartbeats_forever(response)
        elif outcome == "silent":
            await asyncio.Event().wait()
        elif outcome == "cut":
            _cut(request)
        elif outcome != "end":
            raise AssertionError(f"unknown outcome {outcome!r}")
        if self.end_gate is not None:
            await self.end_gate.wait()
        await response.write_eof()

    def job_seed(self, job: Job) -> int:
        """The seed a job draws with: the posted one when randomize_seed is off."""
        return job.data[2] if job.data[3] is False else random.randint(0, 2**31 - 1)

    async def _heartbeats_forever(self, response: web.StreamResponse) -> None:
        while True:
            await self._send(response, "heartbeat", None)
            await asyncio.sleep(self.heartbeat_interval)

    async def _send(self, response: web.StreamResponse, name: str, data: Any) -> None:
        end = self.line_ending
        data_line = json.dumps(data, ensure_ascii=False)
        await self._write(response, f"event: {name}{end}data: {data_line}{end}{end}")

    async def _write(self, response: web.StreamResponse, text: str) -> None:
        raw = text.encode()
        size = self.chunk_size or len(raw)
        for start in range(0, len(raw), size):
            await response.write(raw[start : start + size])

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=self.image, content_type="image/webp")


def _cut(request: web.Request) -> None:
    """Closes the TCP connection mid-response (the chunked body is left unterminated), as a
    Space does after some failures. What was written still reaches the client first."""
    assert request.transport is not None
    request.transport.close()
    raise ConnectionResetError("the fake cut the connection")


def _unprocessable(kind: str, loc: list[str | int], message: str, value: Any) -> web.Response:
    """FastAPI's validation error answer."""
    detail = [{"type": kind, "loc": loc, "msg": message, "input": value}]
    return web.json_response({"detail": detail}, status=422)
