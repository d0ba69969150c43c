"""A loopback Prodia: GET /generate -> {"job"}, GET /job/{id} -> {"status"}, GET /{id}.png."""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
import zlib
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.server import FakeServer

SAMPLERS = frozenset({"Euler", "Euler a", "Heun", "DPM++ 2M Karras", "DPM++ SDE Karras", "DDIM"})
ASPECT_RATIOS = frozenset({"square", "portrait", "landscape"})
REQUIRED = (
    "new",
    "prompt",
    "model",
    "negative_prompt",
    "steps",
    "cfg",
    "seed",
    "sampler",
    "aspect_ratio",
)


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A small valid RGB PNG (all grey)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class Job:
    """One submitted job and how many times its status was asked for."""

    id: str
    params: dict[str, str]
    fail: bool = False
    never_finish: bool = False
    polls: int = 0


class FakeProdia(FakeServer):
    """Jobs report ``queued`` for ``queued_polls`` polls, ``generating`` for
    ``generating_polls``, then ``succeeded`` (or ``failed`` with ``fail_next_job``).

    Knobs for misbehaviour: ``never_finish`` (jobs stay ``generating``),
    ``generate_status`` / ``job_statuses`` (error statuses to answer, the latter
    consumed one per poll), ``generate_body`` (a raw body for /generate, e.g. malformed
    JSON or an object without ``job``), ``retry_after`` (sent with 429s). ``hold`` (an
    ``asyncio.Event``) keeps /generate from answering until it is set.
    """

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, Job] = {}
        self.queued_polls = 1
        self.generating_polls = 1
        self.fail_next_job = False
        self.never_finish = False
        self.generate_status: int | None = None
        self.generate_body: bytes | None = None
        self.job_statuses: list[int] = []
        self.retry_after: str | None = None
        self.image = png_bytes()
        self.hold: asyncio.Event | None = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/generate", self._generate),
            web.get("/job/{job}", self._job),
            web.get("/{job}.png", self._png),
        ]

    def _error(self, status: int) -> web.Response:
        headers = {"Retry-After": self.retry_after} if status == 429 and self.retry_after else {}
        return web.json_response({"error": "simulated"}, status=status, headers=headers)

    async def _generate(self, request: web.Request) -> web.Response:
        if self.hold is not None:
            await self.hold.wait()
        if self.generate_status is not None:
            return self._error(self.generate_status)
        if self.generate_body is not None:
            return web.Response(body=self.generate_body, content_type="application/json")
        query = request.query
        problem = _check_query({key: query.get(key) for key in REQUIRED})
        if problem:
            return web.json_response({"error": problem}, status=400)
        job = Job(
            id=str(uuid.uuid4()),
            params=dict(query),
            fail=self.fail_next_job,
            never_finish=self.never_finish,
        )
        self.fail_next_job = False
        self.jobs[job.id] = job
        return web.json_response({"job": job.id, "status": "queued", "params": dict(query)})

    async def _job(self, request: web.Request) -> web.Response:
        if self.job_statuses:
            return self._error(self.job_statuses.pop(0))
        job = self.jobs.get(request.match_info["job"])
        if job is None:
            return web.json_response({"error": "job not found"}, status=404)
        job.polls += 1
        status = self._status(job)
        body: dict[str, object] = {"job": job.id, "status": status, "params": job.params}
        if status == "succeeded":
            body["imageUrl"] = f"{self.url}/{job.id}.png"
        return web.json_response(body)

    def _status(self, job: Job) -> str:
        if job.polls <= self.queued_polls:
            return "queued"
        if job.never_finish or job.polls <= self.queued_polls + self.generating_polls:
            return "generating"
        return "failed" if job.fail else "succeeded"

    async def _png(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["job"])
        if job is None or self._status(job) != "succeeded":
            return web.Response(status=404, text="Not Found")
        return web.Response(body=self.image, content_type="image/png")


def _check_query(query: dict[str, str | None]) -> str | None:
    """What Prodia would reject about a /generate query, or None when it is fine."""
    missing = [key for key, value in query.items() if value is None]
    if missing:
        return f"missing {', '.join(missing)}"
    if query["new"] != "true" or not query["prompt"] or not query["model"]:
        return "new, prompt and model are required"
    try:
        steps = int(query["steps"] or "")
        cfg = float(query["cfg"] or "")
        int(query["seed"] or "")
    except ValueError:
        return "steps, cfg and seed must be numbers"
    if not 1 <= steps <= 25 or not 0 <= cfg <= 20:
        return "steps or cfg out of range"
    if query["sampler"] not in SAMPLERS or query["aspect_ratio"] not in ASPECT_RATIOS:
        return "unknown sampler or aspect_ratio"
    return None


def malformed_json() -> bytes:
    """A body that is not JSON, for the ``generate_body`` knob."""
    return b"<html>Bad Gateway</html>"


def without_job() -> bytes:
    """A JSON body lacking the job id, for the ``generate_body`` knob."""
    return json.dumps({"status": "queued"}).encode()
