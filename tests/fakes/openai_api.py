"""A loopback OpenAI-compatible API: ``/v1/images/generations``, ``/v1/images/edits`` and
``/v1/chat/completions`` (text, and pictures with ``modalities: ["image", "text"]``).

It checks requests the way the real API does where clients go wrong (a 400 in OpenAI's error
shape): a ``size`` the model does not take, ``response_format`` sent to a GPT image model,
``n`` > 1 for dall-e-3, an ``image_url`` that is a bare string instead of an object, a data URL
that is not base64; for edits, a body that is not ``multipart/form-data``, no picture, more than
16 pictures (dall-e-2: more than one, or one that is not a square RGBA, LA or L PNG under
4 MB), a picture that is not PNG, JPEG or WebP. Point clients at ``fake.base_url`` (the root
plus ``/v1``).

Knobs:

- ``api_key``: the only Bearer key accepted (None: any request is let in); the 401 answer
  quotes the key it got, as some servers do, so tests can prove it is never passed on;
- ``image_format``: ``b64_json`` or ``url``, what images come back as when the request names
  no ``response_format``;
- ``answer``: the chat answer, streamed in ``pieces`` (default: word by word);
- ``ignore_stream``: answer one JSON completion even when ``stream`` is true;
- ``finish_reason``: how a stream ends (``stop``; ``content_filter`` as a filtered answer);
- ``hold``: an Event; streams pause after half the answer until it is set;
- ``steps``: a Semaphore; each piece of a stream waits for one release of it (a test lets the
  answer grow piece by piece);
- ``chat_shape``: how a chat answer asked for pictures (``modalities`` with ``image``) carries
  them: ``images`` (``message.images[]`` with data URLs, OpenRouter's shape), ``images_url``
  (the same with URLs of this fake's ``/v1/files``), ``content`` (``image_url`` parts of a
  ``content`` list), ``markdown`` (``![...](data:...)`` inside a text content); or none:
  ``text`` (``refusal_text`` only, as a model that will not draw answers), ``content_filter``
  (no content, ``finish_reason: content_filter``); ``chat_pictures``: how many it carries;
- ``fail(endpoint, fault, times)``: the next ``times`` requests to ``images``, ``edits`` or
  ``chat`` answer with ``fault``: ``401``, ``402``, ``429`` (Retry-After ``retry_after``),
  ``quota`` (429 insufficient_quota), ``500``, ``policy`` (400 content_policy_violation),
  ``moderation`` (400 moderation_blocked, as OpenAI's image safety system answers),
  ``flagged`` (403 with ``metadata.reasons``, as OpenRouter's moderation answers),
  ``malformed`` (200, not JSON); on ``chat`` also ``cut`` (the connection dies mid-answer),
  ``eof`` (the stream ends cleanly mid-answer, without ``finish_reason`` or ``[DONE]``),
  ``stream_error`` (an error event inside the stream) and ``stall`` (the stream goes silent
  mid-answer until the fake stops).

Every call is recorded in ``image_calls`` / ``edit_calls`` / ``chat_calls`` with its body (an
edit's form fields and pictures, as parsed from the raw multipart body) and Authorization.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import re
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from typing import Any, Literal

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from tests.fakes.arta import png_bytes
from tests.fakes.server import FakeServer

Endpoint = Literal["images", "edits", "chat"]
Fault = Literal[
    "401",
    "402",
    "429",
    "quota",
    "500",
    "policy",
    "moderation",
    "flagged",
    "malformed",
    "cut",
    "eof",
    "stream_error",
    "stall",
]

ChatShape = Literal["images", "images_url", "content", "markdown", "text", "content_filter"]

SIZES: dict[str, tuple[str, ...]] = {
    "gpt-image-": ("1024x1024", "1536x1024", "1024x1536", "auto"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
}


@dataclass
class ImageCall:
    """One images/generations request."""

    body: dict[str, Any]
    authorization: str | None


@dataclass(frozen=True)
class FormPart:
    """One part of a ``multipart/form-data`` body: a field, or a file with its name and type."""

    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass
class EditCall:
    """One images/edits request: its text fields and its pictures (``image`` / ``image[]``
    parts) in the order they came."""

    fields: dict[str, str]
    pictures: list[FormPart]
    authorization: str | None


@dataclass
class ChatCall:
    """One chat/completions request, with the question and images of its last user message."""

    body: dict[str, Any]
    authorization: str | None
    question: str = ""
    images: list[bytes] = field(default_factory=list)
    image_types: list[str] = field(default_factory=list)


class BadRequest(Exception):
    """The request breaks the API's rules; the message is OpenAI's kind of sentence."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def openai_error(
    status: int, message: str, kind: str, code: str | None, param: str | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status)


class FakeOpenAI(FakeServer):
    """The images and chat endpoints of an OpenAI-compatible API on one loopback port."""

    def __init__(self, api_key: str | None = "sk-test-fake-key-0123456789") -> None:
        super().__init__()
        self.api_key = api_key
        self.image_format: Literal["b64_json", "url"] = "b64_json"
        self.answer = "A red square on a white background."
        self.pieces: list[str] | None = None
        self.ignore_stream = False
        self.finish_reason = "stop"
        self.hold: asyncio.Event | None = None
        self.steps: asyncio.Semaphore | None = None
        self.retry_after = "7"
        self.chat_shape: ChatShape = "images"
        self.chat_pictures = 1
        self.refusal_text = (
            "I can't make that picture, but I can describe it: a quiet lake at dawn, mist "
            "rising over the water while the first light turns the hills gold."
        )
        self.image_calls: list[ImageCall] = []
        self.edit_calls: list[EditCall] = []
        self.chat_calls: list[ChatCall] = []
        self._faults: dict[str, list[Fault]] = {}
        self._stopping = asyncio.Event()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    async def stop(self) -> None:
        self._stopping.set()  # stalled streams end, so that the server can shut down at once
        await super().stop()

    def fail(self, endpoint: Endpoint, fault: Fault, times: int = 1) -> None:
        """The next ``times`` requests to ``endpoint`` answer with ``fault``."""
        self._faults.setdefault(endpoint, []).extend([fault] * times)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/images/generations", self._images),
            web.post("/v1/images/edits", self._edits),
            web.post("/v1/chat/completions", self._chat),
            web.get("/v1/files/{name}", self._file),
        ]

    # --- shared ------------------------------------------------------------------------------

    def _fault(self, endpoint: Endpoint) -> Fault | None:
        pending = self._faults.get(endpoint)
        return pending.pop(0) if pending else None

    def _refusal(self, request: web.Request, fault: Fault | None) -> web.Response | None:
        """The answer for a bad key or an HTTP-level fault, None to go on."""
        presented = request.headers.get("Authorization", "")
        key = presented.removeprefix("Bearer ")
        if fault == "401" or (self.api_key is not None and presented != f"Bearer {self.api_key}"):
            return openai_error(
                401,
                f"Incorrect API key provided: {key}. You can find your API key in your account.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if fault == "402":
            return openai_error(402, f"Insufficient credits for key {key}.", "billing", None)
        if fault == "429":
            return web.json_response(
                {
                    "error": {
                        "message": "Rate limit reached for requests.",
                        "type": "requests",
                        "param": None,
                        "code": "rate_limit_exceeded",
                    }
                },
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if fault == "quota":
            return openai_error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            )
        if fault == "500":
            return openai_error(
                500, "The server had an error while processing your request.", "server_error", None
            )
        if fault == "policy":
            return openai_error(
                400,
                "Your request was rejected as a result of our safety system.",
                "invalid_request_error",
                "content_policy_violation",
            )
        if fault == "moderation":
            return openai_error(
                400,
                "Your request was rejected by the safety system. If you believe this is an "
                f"error, contact us and include the request ID req_{secrets.token_hex(8)}. "
                "safety_violations=[violence].",
                "image_generation_user_error",
                "moderation_blocked",
            )
        if fault == "flagged":
            error = {
                "code": 403,
                "message": "Your input was flagged for violence.",
                "metadata": {
                    "reasons": ["violence"],
                    "flagged_input": "a scene of...",
                    "provider_name": "Google",
                    "model_slug": "google/gemini-2.5-flash-image",
                },
            }
            return web.json_response({"error": error}, status=403)
        if fault == "malformed":
            return web.Response(text="<html>Bad gateway</html>", content_type="application/json")
        return None

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise BadRequest("We could not parse the JSON body of your request.") from None
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        return body

    # --- images ------------------------------------------------------------------------------

    async def _images(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request, self._fault("images"))
        if refusal is not None:
            return refusal
        try:
            body = await self._json_body(request)
            self.image_calls.append(ImageCall(body, request.headers.get("Authorization")))
            count, response_format = self._check_image_request(body)
        except BadRequest as error:
            return openai_error(400, str(error), "invalid_request_error", None, error.param)
        return self._image_answer(count, response_format, len(self.image_calls))

    def _image_answer(self, count: int, response_format: str, number: int) -> web.Response:
        """An images answer with ``count`` pictures (``png_bytes(0)``, ``png_bytes(1)``, ...)
        as ``b64_json`` or as URLs of ``/v1/files``."""
        data: list[dict[str, str]] = []
        for index in range(count):
            if response_format == "url":
                name = f"img-{number}-{index}.png"
                data.append({"url": f"{self.base_url}/files/{name}", "revised_prompt": "x"})
            else:
                data.append({"b64_json": base64.b64encode(png_bytes(index)).decode()})
        usage = {"total_tokens": 100, "input_tokens": 10, "output_tokens": 90}
        return web.json_response({"created": int(time.time()), "data": data, "usage": usage})

    def _check_image_request(self, body: dict[str, Any]) -> tuple[int, str]:
        """``(n, response format)`` of a valid request; BadRequest otherwise."""
        model, prompt, n = body.get("model"), body.get("prompt"), body.get("n", 1)
        if not isinstance(prompt, str) or not prompt:
            raise BadRequest("Missing required parameter: 'prompt'.", "prompt")
        if not isinstance(model, str) or not model:
            raise BadRequest("Missing required parameter: 'model'.", "model")
        if not isinstance(n, int) or not 1 <= n <= 10:
            raise BadRequest("Invalid 'n': integer between 1 and 10 expected.", "n")
        if model.startswith("dall-e-3") and n != 1:
            raise BadRequest("Invalid 'n': dall-e-3 only supports n=1.", "n")
        response_format = body.get("response_format")
        if response_format is not None:
            if model.startswith("gpt-image-"):
                raise BadRequest("Unknown parameter: 'response_format'.", "response_format")
            if response_format not in ("url", "b64_json"):
                raise BadRequest("Invalid value for 'response_format'.", "response_format")
        size = body.get("size")
        allowed = next((s for prefix, s in SIZES.items() if model.startswith(prefix)), None)
        if size is not None:
            if not isinstance(size, str) or not re.fullmatch(r"\d+x\d+|auto", size):
                raise BadRequest(f"Invalid value for 'size': {size!r}.", "size")
            if allowed is not None and size not in allowed:
                raise BadRequest(
                    f"Invalid value: '{size}'. Supported values are: {', '.join(allowed)}.",
                    "size",
                )
        if model.startswith("gpt-image-"):
            return n, "b64_json"
        return n, response_format or self.image_format

    # --- edits -------------------------------------------------------------------------------

    async def _edits(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request, self._fault("edits"))
        if refusal is not None:
            return refusal
        try:
            parts = parse_form(request.headers.get("Content-Type", ""), await request.read())
            fields = {p.name: p.value.decode() for p in parts if p.filename is None}
            pictures = [p for p in parts if p.name in ("image", "image[]")]
            call = EditCall(fields, pictures, request.headers.get("Authorization"))
            self.edit_calls.append(call)
            count, response_format = self._check_edit_request(fields, pictures)
        except (BadRequest, UnicodeDecodeError) as error:
            param = error.param if isinstance(error, BadRequest) else None
            return openai_error(400, str(error), "invalid_request_error", None, param)
        return self._image_answer(count, response_format, len(self.edit_calls))

    def _check_edit_request(
        self, fields: dict[str, str], pictures: list[FormPart]
    ) -> tuple[int, str]:
        """``(n, response format)`` of a valid edit; BadRequest otherwise."""
        try:
            n = int(fields.get("n", "1"))
        except ValueError:
            raise BadRequest("Invalid 'n': integer between 1 and 10 expected.", "n") from None
        body: dict[str, Any] = {**fields, "n": n}
        answer = self._check_image_request(body)
        model = str(body["model"])
        if not pictures:
            raise BadRequest("Missing required parameter: 'image'.", "image")
        if model.startswith("dall-e-2"):
            _check_dall_e_2_picture(pictures)
        elif len(pictures) > 16:
            raise BadRequest("Invalid 'image': too many images (at most 16).", "image")
        for picture in pictures:
            if picture.filename is None:
                raise BadRequest("Invalid 'image': expected a file.", "image")
            if picture.content_type not in EDIT_TYPES:
                raise BadRequest(
                    f"Invalid file 'image': unsupported mimetype ('{picture.content_type}'). "
                    "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                    "image",
                )
            if _sniff(picture.value) != picture.content_type:
                raise BadRequest("Invalid image file or mode for image.", "image")
            if len(picture.value) >= 50 * 1000 * 1000:
                raise BadRequest("Invalid 'image': each image must be less than 50MB.", "image")
        return answer

    async def _file(self, request: web.Request) -> web.Response:
        match = re.fullmatch(r"img-\d+-(\d+)\.png", request.match_info["name"])
        if match is None:
            raise web.HTTPNotFound()
        return web.Response(body=png_bytes(int(match[1])), content_type="image/png")

    # --- chat --------------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        fault = self._fault("chat")
        refusal = self._refusal(request, fault)
        if refusal is not None:
            return refusal
        try:
            body = await self._json_body(request)
            call = ChatCall(body, request.headers.get("Authorization"))
            self.chat_calls.append(call)
            self._read_messages(body, call)
        except BadRequest as error:
            return openai_error(400, str(error), "invalid_request_error", None, error.param)
        model = str(body["model"])
        if "image" in body.get("modalities", []):
            message, finish = self._picture_message(len(self.chat_calls))
            return _completion(model, message, finish)
        if body.get("stream") is True and not self.ignore_stream:
            return await self._stream(request, model, fault)
        message = {"role": "assistant", "content": self.answer, "refusal": None}
        return _completion(model, message, "stop")

    def _picture_message(self, number: int) -> tuple[dict[str, Any], str]:
        """The assistant message (and finish reason) of an answer with pictures, in
        ``chat_shape``."""
        urls = [
            "data:image/png;base64," + base64.b64encode(png_bytes(index)).decode()
            for index in range(self.chat_pictures)
        ]
        message: dict[str, Any] = {"role": "assistant", "content": "Here you are.", "refusal": None}
        shape = self.chat_shape
        if shape == "images_url":
            urls = [f"{self.base_url}/files/img-{number}-{i}.png" for i in range(len(urls))]
        if shape in ("images", "images_url"):
            message["images"] = [{"type": "image_url", "image_url": {"url": u}} for u in urls]
        elif shape == "content":
            message["content"] = [
                {"type": "text", "text": "Here you are."},
                *({"type": "image_url", "image_url": {"url": u}} for u in urls),
            ]
        elif shape == "markdown":
            pictures = "\n\n".join(f"![image {i}]({u})" for i, u in enumerate(urls, 1))
            message["content"] = f"Here you are:\n\n{pictures}"
        elif shape == "text":
            message["content"] = self.refusal_text
        else:  # content_filter
            message["content"] = None
            return message, "content_filter"
        return message, "stop"

    @staticmethod
    def _read_messages(body: dict[str, Any], call: ChatCall) -> None:
        """Checks ``messages`` as the API does and notes the question and images."""
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise BadRequest("you must provide a model parameter", "model")
        modalities = body.get("modalities", ["text"])
        if not isinstance(modalities, list) or not set(modalities) <= {"text", "image", "audio"}:
            raise BadRequest("Invalid value for 'modalities'.", "modalities")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("Missing required parameter: 'messages'.", "messages")
        for m_index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in (
                "system",
                "user",
                "assistant",
                "developer",
            ):
                raise BadRequest("Invalid message.", f"messages[{m_index}]")
            content = message.get("content")
            if isinstance(content, str):
                call.question = content
                continue
            if not isinstance(content, list):
                raise BadRequest("Invalid content.", f"messages[{m_index}].content")
            for p_index, part in enumerate(content):
                where = f"messages[{m_index}].content[{p_index}]"
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text" and isinstance(part, dict) and isinstance(part.get("text"), str):
                    call.question = part["text"]
                elif kind == "image_url" and isinstance(part, dict):
                    image_url = part.get("image_url")
                    if not isinstance(image_url, dict):
                        raise BadRequest(
                            f"Invalid type for '{where}.image_url': expected an object, but got "
                            f"a {type(image_url).__name__} instead.",
                            f"{where}.image_url",
                        )
                    media_type, data = _data_url(str(image_url.get("url", "")), where)
                    call.image_types.append(media_type)
                    call.images.append(data)
                else:
                    raise BadRequest(f"Invalid content part at '{where}'.", where)

    async def _step(self, steps: asyncio.Semaphore) -> bool:
        """Waits for the test to let the next piece go; False when the fake stops first."""
        await _first(steps.acquire(), self._stopping.wait())
        return not self._stopping.is_set()

    async def _stream(
        self, request: web.Request, model: str, fault: Fault | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
        )
        await response.prepare(request)
        ident = f"chatcmpl-{secrets.token_hex(8)}"
        pieces = self.pieces if self.pieces is not None else re.findall(r"\S+\s*", self.answer)

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": None,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        try:
            await send({"role": "assistant", "content": "", "refusal": None})
            half = max(1, len(pieces) // 2)
            for number, piece in enumerate(pieces, start=1):
                if self.steps is not None and not await self._step(self.steps):
                    return response  # the fake is stopping
                await send({"content": piece})
                if number == half and fault == "stall":
                    await self._stopping.wait()
                    return response
                if number == half and self.hold is not None:
                    await self.hold.wait()
                if number == half and fault in ("cut", "eof", "stream_error"):
                    if fault == "stream_error":
                        error = {"message": "The server had an error.", "type": "server_error"}
                        await response.write(f"data: {json.dumps({'error': error})}\n\n".encode())
                    if fault == "cut":
                        _cut(request)
                    await response.write_eof()
                    return response
            await send({}, self.finish_reason)
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionError:
            pass
        return response


def _completion(model: str, message: dict[str, Any], finish: str) -> web.Response:
    """A whole (not streamed) chat completion with one choice."""
    return web.json_response(
        {
            "id": f"chatcmpl-{secrets.token_hex(8)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
        }
    )


async def _first(*waits: Coroutine[Any, Any, Any]) -> None:
    """Waits until one of ``waits`` is done, and drops the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _data_url(url: str, where: str) -> tuple[str, bytes]:
    match = re.fullmatch(r"data:(image/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=]+)", url)
    if match is None:
        raise BadRequest(
            f"Invalid '{where}.image_url.url': expected a base64-encoded data URL with an image "
            "MIME type.",
            f"{where}.image_url.url",
        )
    try:
        return match[1], base64.b64decode(match[2], validate=True)
    except binascii.Error:
        raise BadRequest(f"Invalid base64 image data at '{where}'.") from None


def _cut(request: web.Request) -> None:
    """Closes the TCP connection mid-response: the chunked body is left unterminated."""
    assert request.transport is not None
    request.transport.close()
    raise ConnectionResetError("the fake cut the connection")


EDIT_TYPES = ("image/png", "image/jpeg", "image/webp")


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _check_dall_e_2_picture(pictures: list[FormPart]) -> None:
    """dall-e-2 edits one square PNG of less than 4 MB, sent as ``image``."""
    if len(pictures) != 1 or pictures[0].name != "image":
        raise BadRequest("Invalid 'image': dall-e-2 edits exactly one image.", "image")
    data = pictures[0].value
    if _sniff(data) != "image/png" or len(data) >= 4 * 1024 * 1024:
        raise BadRequest("Uploaded image must be a PNG and less than 4 MB.", "image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            square, mode = image.width == image.height, image.mode
    except UnidentifiedImageError:
        raise BadRequest("Invalid image file or mode for image.", "image") from None
    if mode not in ("RGBA", "LA", "L"):
        raise BadRequest(
            f"Invalid input image - format must be in ['RGBA', 'LA', 'L'], got {mode}.", "image"
        )
    if not square:
        raise BadRequest("Invalid input image - image must be square.", "image")


def parse_form(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of a ``multipart/form-data`` body, in order (a name may repeat, as
    ``image[]`` does), split on its boundary per RFC 7578 independently of aiohttp."""
    headers = BytesHeaderParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode())
    boundary = headers.get_param("boundary")
    if headers.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise BadRequest(
            "Invalid Content-Type header: expected multipart/form-data with a boundary."
        )
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode())
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise BadRequest("Could not parse multipart form: no closing boundary.")
    parts: list[FormPart] = []
    for chunk in chunks[1:-1]:
        head, separator, value = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        part_headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = part_headers.get_param("name", header="content-disposition")
        if not separator or not isinstance(name, str):
            raise BadRequest("Could not parse multipart form: a part without a name.")
        filename = part_headers.get_param("filename", header="content-disposition")
        parts.append(
            FormPart(
                name=name,
                value=value,
                filename=filename if isinstance(filename, str) else None,
                content_type=part_headers.get_content_type()
                if "Content-Type" in part_headers
                else None,
            )
        )
    return parts
