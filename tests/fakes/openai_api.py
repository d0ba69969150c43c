"""A loopback OpenAI-compatible API: ``/v1/images/generations`` and ``/v1/chat/completions``.

It checks requests the way the real API does where clients go wrong (a 400 in OpenAI's error
shape): a ``size`` the model does not take, ``response_format`` sent to a GPT image model,
``n`` > 1 for dall-e-3, an ``image_url`` that is a bare string instead of an object, a data URL
that is not base64. Point clients at ``fake.base_url`` (the root plus ``/v1``).

Knobs:

- ``api_key``: the only Bearer key accepted (None: any request is let in); the 401 answer
  quotes the key it got, as some servers do, so tests can prove it is never passed on;
- ``image_format``: ``b64_json`` or ``url``, what images come back as when the request names
  no ``response_format``;
- ``answer``: the chat answer, streamed in ``pieces`` (default: word by word);
- ``ignore_stream``: answer one JSON completion even when ``stream`` is true;
- ``hold``: an Event; streams pause after half the answer until it is set;
- ``steps``: a Semaphore; each piece of a stream waits for one release of it (a test lets the
  answer grow piece by piece);
- ``fail(endpoint, fault, times)``: the next ``times`` requests to ``images`` or ``chat`` answer
  with ``fault``: ``401``, ``402``, ``429`` (Retry-After ``retry_after``), ``quota`` (429
  insufficient_quota), ``500``, ``policy`` (400 content_policy_violation), ``malformed`` (200,
  not JSON); on ``chat`` also ``cut`` (the connection dies mid-answer), ``eof`` (the stream
  ends cleanly mid-answer, without ``finish_reason`` or ``[DONE]``), ``stream_error`` (an
  error event inside the stream) and ``stall`` (the stream goes silent mid-answer until the
  fake stops).

Every call is recorded in ``image_calls`` / ``chat_calls`` with its body and Authorization.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes.arta import png_bytes
from tests.fakes.server import FakeServer

Endpoint = Literal["images", "chat"]
Fault = Literal[
    "401",
    "402",
    "429",
    "quota",
    "500",
    "policy",
    "malformed",
    "cut",
    "eof",
    "stream_error",
    "stall",
]

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
        self.hold: asyncio.Event | None = None
        self.steps: asyncio.Semaphore | None = None
        self.retry_after = "7"
        self.image_calls: list[ImageCall] = []
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
        data: list[dict[str, str]] = []
        for index in range(count):
            if response_format == "url":
                name = f"img-{len(self.image_calls)}-{index}.png"
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
        if body.get("stream") is True and not self.ignore_stream:
            return await self._stream(request, model, fault)
        return web.json_response(
            {
                "id": f"chatcmpl-{secrets.token_hex(8)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.answer, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
            }
        )

    @staticmethod
    def _read_messages(body: dict[str, Any], call: ChatCall) -> None:
        """Checks ``messages`` as the API does and notes the question and images."""
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise BadRequest("you must provide a model parameter", "model")
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
            await send({}, "stop")
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionError:
            pass
        return response


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
