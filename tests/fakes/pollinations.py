"""A loopback Pollinations gateway: ``GET /image/{prompt}`` answers a JPEG, ``POST
/v1/images/edits`` edits pictures sent as an OpenAI multipart form, and the OpenAI-compatible
``/v1/chat/completions`` of :class:`tests.fakes.openai_api.FakeOpenAI`.

Point the provider at ``fake.url`` (Pollinations' base has no ``/v1``).

Knobs, beside the chat ones of FakeOpenAI: ``api_key`` (the Bearer key accepted),
``fail_image(fault, times)`` with ``401``, ``402`` (no pollen left), ``429`` (Retry-After
``retry_after``), ``500`` or ``not_image`` (200 with an HTML page). Each GET is recorded in
``image_gets`` with the prompt decoded from the raw path, the query and the Authorization.

Edits, as the gateway's ``/v1/images/edits`` takes them: the fields ``model`` and ``prompt``,
the pictures as ``image`` or ``image[]`` file parts (both read, in order), ``size`` (``WxH``,
default 1024x1024) and ``quality``; a missing prompt or picture is a 400. The answer is one
picture, ``{"created", "data": [{"b64_json", "revised_prompt"}]}`` (``edit_format = "url"``:
a ``url`` to this fake instead): a PNG of the size asked for, the first picture's colour at its
top-left corner. ``fail_edit(fault, times)`` with ``401``, ``402`` (``PAYMENT_REQUIRED``,
"Insufficient balance"), ``422`` (``content_policy_violation``), ``429``, ``500`` or
``not_json``. Each POST is recorded in ``edit_posts``: its text fields, its file parts in order
(name, filename, content type, bytes) and the Authorization. (FakeOpenAI's own edits
endpoint, its ``edit_calls`` and ``fail("edits")``, are not the gateway's and are not served.)
"""

from __future__ import annotations

import base64
import io
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from functools import cache
from typing import Literal

from aiohttp import web
from PIL import Image

from tests.fakes.openai_api import FakeOpenAI

ImageFault = Literal["401", "402", "429", "500", "not_image"]
EditFault = Literal["401", "402", "422", "429", "500", "not_json"]
EDITS_PATH = "/v1/images/edits"


@cache
def jpeg_bytes(seed: int = 0) -> bytes:
    """A small JPEG whose colour follows the seed."""
    buffer = io.BytesIO()
    colour = (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)
    Image.new("RGB", (64, 64), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@dataclass
class ImageGet:
    """One picture request as the gateway saw it."""

    prompt: str
    query: dict[str, str]
    authorization: str | None


@dataclass(frozen=True)
class FormPart:
    """One part of a multipart/form-data body: its field name, its bytes, and for a file part
    its filename and content type."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass
class EditPost:
    """One edits request: its text fields, its file parts in the order sent, its key."""

    fields: dict[str, str]
    files: list[FormPart] = field(default_factory=list)
    authorization: str | None = None

    @property
    def pictures(self) -> list[bytes]:
        return [part.data for part in self.files]


def form_parts(content_type: str, body: bytes) -> list[FormPart]:
    """Every part of a multipart/form-data body, in order (repeated names kept), split on its
    boundary as RFC 7578 says, independently of the client that built it; ValueError for a
    body that is not such a form."""
    headers = BytesHeaderParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode())
    boundary = headers.get_param("boundary")
    if headers.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise ValueError("not a multipart form")
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode())
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("no closing boundary")
    parts: list[FormPart] = []
    for chunk in chunks[1:-1]:
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part without a header block")
        part_headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = part_headers.get_param("name", header="content-disposition")
        filename = part_headers.get_param("filename", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a part without a name")
        parts.append(
            FormPart(
                name,
                data,
                filename if isinstance(filename, str) else None,
                part_headers.get("Content-Type"),
            )
        )
    return parts


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"status": status, "success": False, "error": {"code": code, "message": message}}
    return web.json_response(body, status=status, headers=headers)


def edited_png(first_picture: bytes, size: tuple[int, int]) -> bytes:
    """The fake's edit: a PNG of ``size``, grey, with the first picture's top-left colour in
    its own top-left corner (so a test can tell the picture was read)."""
    with Image.open(io.BytesIO(first_picture)) as source:
        corner = source.convert("RGB").getpixel((0, 0))
    assert isinstance(corner, tuple)
    image = Image.new("RGB", size, (128, 128, 128))
    image.putpixel((0, 0), corner)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class FakePollinations(FakeOpenAI):
    """Pollinations' image GET, its edits and its OpenAI-compatible chat on one loopback port."""

    def __init__(self, api_key: str | None = "pk_test_fake_pollen_key") -> None:
        super().__init__(api_key=api_key)
        self.image_gets: list[ImageGet] = []
        self.edit_posts: list[EditPost] = []
        self.edit_format: Literal["b64_json", "url"] = "b64_json"
        self._image_faults: list[ImageFault] = []
        self._edit_faults: list[EditFault] = []
        self._edited: dict[str, bytes] = {}

    def fail_image(self, fault: ImageFault, times: int = 1) -> None:
        """The next ``times`` picture requests answer with ``fault``."""
        self._image_faults.extend([fault] * times)

    def fail_edit(self, fault: EditFault, times: int = 1) -> None:
        """The next ``times`` edit requests answer with ``fault``."""
        self._edit_faults.extend([fault] * times)

    def routes(self) -> list[web.RouteDef]:
        inherited = [
            route
            for route in super().routes()
            if not (isinstance(route, web.RouteDef) and route.path == EDITS_PATH)
        ]
        return [
            *inherited,
            web.get("/image/{prompt:.+}", self._image),
            web.post(EDITS_PATH, self._edit),
            web.get("/edited/{name}", self._edited_file),
        ]

    async def _image(self, request: web.Request) -> web.Response:
        raw = request.raw_path.split("?", 1)[0].removeprefix("/image/")
        authorization = request.headers.get("Authorization")
        self.image_gets.append(
            ImageGet(urllib.parse.unquote(raw), dict(request.query), authorization)
        )
        fault = self._image_faults.pop(0) if self._image_faults else None
        key = (authorization or "").removeprefix("Bearer ")
        if fault == "401" or (self.api_key is not None and key != self.api_key):
            return _error(401, "UNAUTHORIZED", f"Invalid API key: {key}")
        if fault == "402":
            return _error(402, "PAYMENT_REQUIRED", "Insufficient pollen balance.")
        if fault == "429":
            return _error(429, "RATE_LIMITED", "Too many requests.", **{"Retry-After": "12"})
        if fault == "500":
            return _error(500, "INTERNAL_ERROR", "Something went wrong.")
        if fault == "not_image":
            return web.Response(text="<html>queue full</html>", content_type="text/html")
        seed = int(request.query.get("seed", "0") or 0)
        return web.Response(body=jpeg_bytes(seed % 1000), content_type="image/jpeg")

    async def _edit(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        try:
            parts = form_parts(request.headers.get("Content-Type", ""), await request.read())
        except ValueError as error:
            return _error(400, "BAD_REQUEST", f"Could not parse the form: {error}")
        call = EditPost(
            fields={p.name: p.data.decode() for p in parts if p.filename is None},
            files=[p for p in parts if p.filename is not None],
            authorization=authorization,
        )
        self.edit_posts.append(call)
        fault = self._edit_faults.pop(0) if self._edit_faults else None
        refusal = self._edit_refusal(fault, (authorization or "").removeprefix("Bearer "))
        if refusal is not None:
            return refusal
        prompt = call.fields.get("prompt", "")
        pictures = [p.data for p in call.files if p.name in ("image", "image[]")]
        if not prompt:
            return _error(400, "BAD_REQUEST", "Missing required field: prompt")
        if not pictures:
            return _error(400, "BAD_REQUEST", "Missing required field: image")
        match = re.fullmatch(r"(\d+)x(\d+)", call.fields.get("size", "1024x1024"))
        if match is None:
            return _error(400, "BAD_REQUEST", "Invalid size")
        picture = edited_png(pictures[0], (int(match[1]), int(match[2])))
        if self.edit_format == "url":
            name = f"edit-{len(self.edit_posts)}.png"
            self._edited[name] = picture
            item = {"url": f"{self.url}/edited/{name}", "revised_prompt": prompt}
        else:
            item = {"b64_json": base64.b64encode(picture).decode(), "revised_prompt": prompt}
        return web.json_response({"created": int(time.time()), "data": [item]})

    def _edit_refusal(self, fault: EditFault | None, key: str) -> web.Response | None:
        """The gateway's error answer for a bad key or ``fault``, None to go on."""
        if fault == "401" or (self.api_key is not None and key != self.api_key):
            return _error(401, "UNAUTHORIZED", f"Invalid API key: {key}")
        if fault == "402":
            return _error(402, "PAYMENT_REQUIRED", "Insufficient balance")
        if fault == "422":
            return _error(
                422,
                "content_policy_violation",
                f"The request was flagged by the content filter (key {key[:6]}...).",
            )
        if fault == "429":
            return _error(429, "RATE_LIMITED", "Too many requests.", **{"Retry-After": "12"})
        if fault == "500":
            return _error(500, "INTERNAL_ERROR", "Something went wrong.")
        if fault == "not_json":
            return web.Response(text="<html>Bad gateway</html>", content_type="text/html")
        return None

    async def _edited_file(self, request: web.Request) -> web.Response:
        picture = self._edited.get(request.match_info["name"])
        if picture is None:
            raise web.HTTPNotFound()
        return web.Response(body=picture, content_type="image/png")
