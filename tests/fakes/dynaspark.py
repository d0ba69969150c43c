"""A loopback Dynaspark: POST /generate_response (multipart form) -> {"response": "..."}."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesHeaderParser
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes.server import FakeServer


@dataclass
class Part:
    """One form field: its value, and for a file part the filename and content type."""

    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass
class Submission:
    """What one POST carried, as the upstream would see it."""

    content_type: str
    parts: dict[str, Part]

    @property
    def user_input(self) -> str | None:
        part = self.parts.get("user_input")
        return part.value.decode() if part else None

    @property
    def ai_model(self) -> str | None:
        part = self.parts.get("ai_model")
        return part.value.decode() if part else None

    @property
    def file(self) -> Part | None:
        return self.parts.get("file")


def parse_multipart(content_type_header: str, body: bytes) -> dict[str, Part]:
    """Splits a multipart/form-data body on its boundary (RFC 7578), independently of aiohttp."""
    headers = BytesHeaderParser().parsebytes(
        f"Content-Type: {content_type_header}\r\n\r\n".encode()
    )
    boundary = headers.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("no boundary")
    delimiter = b"\r\n--" + boundary.encode()
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("no closing boundary")
    parts: dict[str, Part] = {}
    for chunk in chunks[1:-1]:
        head, sep, value = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part without a header block")
        part_headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = part_headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("part without a name")
        filename = part_headers.get_param("filename", header="content-disposition")
        parts[name] = Part(
            name=name,
            value=value,
            filename=filename if isinstance(filename, str) else None,
            content_type=part_headers.get("Content-Type"),
        )
    return parts


class FakeDynaspark(FakeServer):
    """Records every submission in ``submissions`` and answers ``answer``.

    Knobs: ``status`` (an error status to answer), ``raw_body`` (a raw 200 body, e.g.
    not JSON or JSON without ``response``). A request lacking user_input or ai_model,
    or with a body that is not a form, gets a 400 like the real Flask app.
    """

    def __init__(self) -> None:
        super().__init__()
        self.submissions: list[Submission] = []
        self.answer = "A red square on a white background."
        self.status: int | None = None
        self.raw_body: bytes | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/generate_response", self._generate_response)]

    async def _generate_response(self, request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get("Content-Type", "")
        try:
            if request.content_type == "multipart/form-data":
                parts = parse_multipart(header, body)
            elif request.content_type == "application/x-www-form-urlencoded":
                pairs = parse_qsl(body.decode(), keep_blank_values=True)
                parts = {k: Part(k, v.encode()) for k, v in pairs}
            else:
                raise ValueError("not a form")
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        submission = Submission(content_type=request.content_type, parts=parts)
        self.submissions.append(submission)
        if not submission.user_input or not submission.ai_model:
            return web.json_response({"error": "user_input and ai_model are required"}, status=400)
        if self.status is not None:
            return web.json_response({"error": "simulated"}, status=self.status)
        if self.raw_body is not None:
            return web.Response(body=self.raw_body, content_type="text/html")
        return web.json_response({"response": self.answer})
