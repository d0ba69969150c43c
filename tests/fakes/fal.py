"""A loopback fal queue: submit, status with queue positions that count down, result, cancel.

Routes as fal serves them: POST ``/{owner}/{alias}[/{path}]`` submits to an app (for example
``/fal-ai/flux/schnell``); the answer's addresses drop the app's sub-path, as fal's do:
``/{owner}/{alias}/requests/{id}/status``, ``/{owner}/{alias}/requests/{id}`` (the result) and
``/{owner}/{alias}/requests/{id}/cancel`` (PUT). A client that builds them from the app id
instead of using the answer's gets 404s. Result images are served at ``/files/{id}/{n}.png``.

Edit apps get their pictures as data URIs in any input field (one, or a list): the fake decodes
and records them (:attr:`QueuedRequest.pictures`), and answers a malformed one as fal does, 422.
A refusal by moderation completes the request with an error and answers the result with fal's
422 ``detail: [{type: "content_policy_violation", ...}]``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.prodia import png_bytes
from tests.fakes.server import FakeServer

DETAILS = {
    401: "Cannot access application. Authentication is required to access this application.",
    403: (
        "User is locked. Reason: Exhausted balance. "
        "Top up your balance at fal.ai/dashboard/billing."
    ),
    429: "Too many requests.",
    500: "Internal server error.",
}

POLICY_MESSAGE = (
    "The content could not be processed because it contained material flagged by a content checker."
)
"""What fal's moderation says when it refuses a request."""

_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[^,;]*)*;base64,(?P<data>.*)", re.S)


@dataclass(frozen=True)
class DataUrl:
    """A decoded data URL: its MIME type and its bytes."""

    content_type: str
    data: bytes


def decode_data_url(value: object) -> DataUrl | None:
    """The picture in a ``data:<type>;base64,...`` string; None for anything else.

    Raises ValueError for a data URL whose base64 does not decode.
    """
    found = _DATA_URL.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return None
    try:
        data = base64.b64decode(found["data"], validate=True)
    except binascii.Error as error:
        raise ValueError(str(error)) from None
    return DataUrl(found["type"] or "text/plain", data)


def picture_inputs(body: dict[str, Any]) -> dict[str, DataUrl | list[DataUrl]]:
    """The data URLs in an input object, by field: one picture, or a list in its order.

    Raises ValueError (with the field's name) for a data URL that does not decode.
    """
    found: dict[str, DataUrl | list[DataUrl]] = {}
    for name, value in body.items():
        try:
            if isinstance(value, list):
                items = [decode_data_url(item) for item in value]
                if items and all(item is not None for item in items):
                    found[name] = [item for item in items if item is not None]
            elif (one := decode_data_url(value)) is not None:
                found[name] = one
        except ValueError:
            raise ValueError(name) from None
    return found


@dataclass
class QueuedRequest:
    """One submitted request: the app, its input, where it stands, and what was asked of it."""

    id: str
    app: str
    input: dict[str, Any]
    ahead: int
    """Requests still ahead of it; the next status poll reports this as ``queue_position``."""
    progress_polls: int
    error: str | None = None
    refused: str | None = None
    """fal's moderation refused it with these words: it completes with an error."""
    cancelled: bool = False
    polls: int = 0
    done: bool = False
    images: list[bytes] = field(default_factory=list)
    pictures: dict[str, DataUrl | list[DataUrl]] = field(default_factory=dict)
    """The pictures its input brought as data URIs, by field (a list field: a list)."""


class FakeFal(FakeServer):
    """``key`` is the only key accepted (``Authorization: Key <key>``).

    A new request starts ``queue_ahead`` places back; each status poll reports its
    ``queue_position`` and moves it one place on. Past the queue it is IN_PROGRESS for
    ``progress_polls`` polls, then COMPLETED. Set either to 10**6 to hold requests where they
    are (and lower it to let them go on).

    Misbehaviour: ``submit_status`` (answer submissions with that HTTP status and fal's
    detail), ``submit_body`` (a raw body for submissions), ``status_errors`` (statuses to
    answer status polls with, one per poll), ``fail_next`` (the next request completes with
    that error), ``nsfw_next`` (the next result is flagged by the safety checker),
    ``refuse_next`` (moderation refuses the next request while it runs, in these words, e.g.
    :data:`POLICY_MESSAGE`; its status's ``error_type`` is ``status_error_type``),
    ``refuse_submit`` (moderation refuses every submission at once, 422, in these words).
    Records: ``requests_by_id``, ``submissions`` (paths and inputs), ``cancels`` (request
    ids); each request's decoded ``pictures``.
    """

    def __init__(self, key: str = "fal-test-key-0123456789") -> None:
        super().__init__()
        self.key = key
        self.queue_ahead = 2
        self.queue_frozen = False
        """While True, queued requests keep their place."""
        self.progress_polls = 1
        self.submit_status: int | None = None
        self.submit_body: bytes | None = None
        self.status_errors: list[int] = []
        self.fail_next: str | None = None
        self.nsfw_next = False
        self.refuse_next: str | None = None
        self.refuse_submit: str | None = None
        self.status_error_type = "request_error"
        self.requests_by_id: dict[str, QueuedRequest] = {}
        self.submissions: list[tuple[str, dict[str, Any]]] = []
        self.cancels: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        base = "/{owner}/{alias}/requests/{id}"
        return [
            web.get("/files/{id}/{n}.png", self._file),
            web.get(base + "/status", self._status),
            web.get(base, self._result),
            web.put(base + "/cancel", self._cancel),
            web.post("/{owner}/{alias}", self._submit),
            web.post("/{owner}/{alias}/{path:.+}", self._submit),
        ]

    def _error(self, status: int) -> web.Response:
        headers = {"Retry-After": "1"} if status == 429 else {}
        detail = DETAILS.get(status, "error")
        return web.json_response({"detail": detail}, status=status, headers=headers)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Key {self.key}"

    @staticmethod
    def _refusal(words: str) -> web.Response:
        """fal's 422 for a request its moderation refused."""
        detail = {
            "loc": ["body", "prompt"],
            "msg": words,
            "type": "content_policy_violation",
            "url": "https://docs.fal.ai/errors#content_policy_violation",
            "ctx": {},
        }
        headers = {"X-Fal-Retryable": "false"}
        return web.json_response({"detail": [detail]}, status=422, headers=headers)

    def _find(self, request: web.Request) -> QueuedRequest | None:
        found = self.requests_by_id.get(request.match_info["id"])
        prefix = f"{request.match_info['owner']}/{request.match_info['alias']}"
        return found if found is not None and found.app.startswith(prefix) else None

    def _urls(self, queued: QueuedRequest) -> dict[str, str]:
        owner, alias = queued.app.split("/")[:2]
        base = f"{self.url}/{owner}/{alias}/requests/{queued.id}"
        return {
            "status_url": f"{base}/status",
            "response_url": base,
            "cancel_url": f"{base}/cancel",
        }

    async def _submit(self, request: web.Request) -> web.Response:
        if self.submit_status is not None:
            return self._error(self.submit_status)
        if not self._authorized(request):
            return self._error(401)
        if self.submit_body is not None:
            return web.Response(body=self.submit_body, content_type="application/json")
        app = request.path.strip("/")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"detail": "body is not JSON"}, status=422)
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            return web.json_response({"detail": [{"loc": ["body", "prompt"]}]}, status=422)
        try:
            pictures = picture_inputs(body)
        except ValueError as bad:
            detail = {"loc": ["body", str(bad)], "msg": "Invalid image", "type": "image_load_error"}
            return web.json_response({"detail": [detail]}, status=422)
        if self.refuse_submit is not None:
            return self._refusal(self.refuse_submit)
        self.submissions.append((app, body))
        queued = QueuedRequest(
            id=str(uuid.uuid4()),
            app=app,
            input=body,
            ahead=self.queue_ahead,
            progress_polls=self.progress_polls,
            error=self.fail_next,
            refused=self.refuse_next,
            pictures=pictures,
        )
        self.fail_next = self.refuse_next = None
        count = body.get("num_images", 1)
        queued.images = [png_bytes(2 + i, 2) for i in range(count if isinstance(count, int) else 1)]
        self.requests_by_id[queued.id] = queued
        return web.json_response(
            {
                "status": "IN_QUEUE",
                "request_id": queued.id,
                "queue_position": queued.ahead,
                **self._urls(queued),
            }
        )

    async def _status(self, request: web.Request) -> web.Response:
        if self.status_errors:
            return self._error(self.status_errors.pop(0))
        if not self._authorized(request):
            return self._error(401)
        queued = self._find(request)
        if queued is None:
            return web.json_response({"detail": "Request not found"}, status=404)
        queued.polls += 1
        logs: list[Any] | None = [] if request.query.get("logs") in ("1", "true") else None
        urls = self._urls(queued)
        if queued.ahead >= 0 and not queued.cancelled:
            position = queued.ahead
            if not self.queue_frozen:
                queued.ahead -= 1
            body = {"status": "IN_QUEUE", "queue_position": position, **urls}
            return web.json_response(body, status=202)
        if queued.progress_polls > 0 and not queued.cancelled:
            queued.progress_polls -= 1
            body = {"status": "IN_PROGRESS", "logs": logs, **urls}
            return web.json_response(body, status=202)
        queued.done = True
        body = {"status": "COMPLETED", "logs": logs, "metrics": {"inference_time": 0.4}, **urls}
        if queued.refused:
            body["error"] = queued.refused
            body["error_type"] = self.status_error_type
        elif queued.error or queued.cancelled:
            body["error"] = queued.error or "Request was cancelled"
            body["error_type"] = "request_error"
        return web.json_response(body)

    async def _result(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401)
        queued = self._find(request)
        if queued is None:
            return web.json_response({"detail": "Request not found"}, status=404)
        if not queued.done:
            return web.json_response({"detail": "Request is still in progress"}, status=400)
        if queued.refused:
            return self._refusal(queued.refused)
        if queued.error:
            return web.json_response({"detail": queued.error}, status=422)
        flagged = self.nsfw_next
        self.nsfw_next = False
        images = [
            {
                "url": f"{self.url}/files/{queued.id}/{n}.png",
                "width": 2 + n,
                "height": 2,
                "content_type": "image/png",
            }
            for n in range(len(queued.images))
        ]
        return web.json_response(
            {
                "images": images,
                "timings": {"inference": 0.4},
                "seed": queued.input.get("seed", 424242),
                "has_nsfw_concepts": [flagged] * len(images),
                "prompt": queued.input["prompt"],
            }
        )

    async def _cancel(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401)
        queued = self._find(request)
        if queued is None:
            return web.json_response({"detail": "Request not found"}, status=404)
        self.cancels.append(queued.id)
        if queued.done:
            return web.json_response({"status": "ALREADY_COMPLETED"}, status=400)
        queued.cancelled = True
        return web.json_response({"status": "CANCELLATION_REQUESTED"}, status=202)

    async def _file(self, request: web.Request) -> web.Response:
        queued = self.requests_by_id.get(request.match_info["id"])
        n = int(request.match_info["n"])
        if queued is None or not queued.done or n >= len(queued.images):
            return web.Response(status=404, text="Not Found")
        return web.Response(body=queued.images[n], content_type="image/png")
