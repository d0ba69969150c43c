"""A loopback Replicate API (``/v1``): predictions, ``Prefer: wait``, polling, cancel, files.

POST ``/v1/models/{owner}/{name}/predictions`` (or ``/v1/predictions`` with a version) creates
a prediction; GET ``/v1/predictions/{id}`` reports it; POST ``/v1/predictions/{id}/cancel``
cancels it. Errors come as Replicate's problem JSON (``{title, detail, status}``). Output
images are served at ``/files/{id}/{n}.png``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.prodia import png_bytes
from tests.fakes.server import FakeServer

PROBLEMS = {
    401: ("Unauthenticated", "You did not pass a valid authentication token"),
    402: (
        "Insufficient credit",
        "You have insufficient credit to run this model. Go to "
        "https://replicate.com/account/billing#billing to purchase credit.",
    ),
    404: ("Not found", "The requested resource could not be found."),
    422: ("Input validation failed", "- input: prompt is required"),
    429: ("Request was throttled", "Request was throttled. Your rate limit resets in ~1s."),
    500: ("Internal server error", "Something went wrong."),
}


@dataclass
class Prediction:
    """One prediction: model, input, how many polls until it is done, what was asked of it."""

    id: str
    model: str
    version: str
    input: dict[str, Any]
    starting_polls: int
    processing_polls: int
    error: str | None = None
    status: str = "starting"
    polls: int = 0
    images: list[bytes] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class FakeReplicate(FakeServer):
    """``token`` is the only token accepted (``Authorization: Bearer <token>``).

    A prediction is ``starting`` for ``starting_polls`` polls, ``processing`` for
    ``processing_polls``, then ``succeeded`` (or ``failed`` with ``fail_next``). With
    ``Prefer: wait=N`` the creating request answers the finished prediction when
    ``finish_while_waiting`` is set (a fast model), else the one still starting.
    ``single_output`` answers one URL instead of a list (as FLUX 1.1 pro does).
    ``processing_when_waited`` shows a prediction finished while waiting as ``processing``
    (with its output), which the replicate SDK says the blocking API sometimes does.

    Misbehaviour: ``create_status`` (answer creations with that status as problem JSON),
    ``create_body`` (a raw body), ``poll_errors`` (statuses for the next polls, one each).
    Records: ``predictions``, ``creations`` (path, body, Prefer header), ``cancels`` (ids).
    """

    def __init__(self, token: str = "r8_test_token_0123456789") -> None:
        super().__init__()
        self.token = token
        self.starting_polls = 1
        self.processing_polls = 1
        self.finish_while_waiting = False
        self.single_output = False
        self.processing_when_waited = False
        self.fail_next: str | None = None
        self.create_status: int | None = None
        self.create_body: bytes | None = None
        self.poll_errors: list[int] = []
        self.predictions: dict[str, Prediction] = {}
        self.creations: list[tuple[str, dict[str, Any], str | None]] = []
        self.cancels: list[str] = []

    @property
    def api(self) -> str:
        """The base URL clients use (REPLICATE_API_URL), with its ``/v1``."""
        return f"{self.url}/v1"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/models/{owner}/{name}/predictions", self._create),
            web.post("/v1/predictions", self._create),
            web.get("/v1/predictions/{id}", self._get),
            web.post("/v1/predictions/{id}/cancel", self._cancel),
            web.get("/files/{id}/{n}.png", self._file),
        ]

    def _problem(self, status: int) -> web.Response:
        title, detail = PROBLEMS.get(status, ("Error", "error"))
        headers = {"Retry-After": "1"} if status == 429 else {}
        return web.json_response(
            {"title": title, "detail": detail, "status": status},
            status=status,
            headers=headers,
            content_type="application/problem+json",
        )

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def _json(self, prediction: Prediction) -> dict[str, Any]:
        base = f"{self.api}/predictions/{prediction.id}"
        output: Any = None
        if prediction.status == "succeeded":
            urls = [
                f"{self.url}/files/{prediction.id}/{n}.png" for n in range(len(prediction.images))
            ]
            output = urls[0] if self.single_output else urls
        seed = prediction.input.get("seed", 31337)
        return {
            "id": prediction.id,
            "model": prediction.model,
            "version": prediction.version,
            "input": prediction.input,
            "logs": f"Using seed: {seed}\n" if prediction.status != "starting" else "",
            "output": output,
            "data_removed": False,
            "error": prediction.error if prediction.status == "failed" else None,
            "status": prediction.status,
            "created_at": prediction.created_at,
            "started_at": None,
            "completed_at": None,
            "metrics": {},
            "urls": {
                "cancel": f"{base}/cancel",
                "get": base,
                "web": f"https://replicate.com/p/{prediction.id}",
            },
        }

    def _advance(self, prediction: Prediction) -> None:
        """One poll's worth of progress."""
        if prediction.status in ("succeeded", "failed", "canceled"):
            return
        prediction.polls += 1
        if prediction.polls <= prediction.starting_polls:
            prediction.status = "starting"
        elif prediction.polls <= prediction.starting_polls + prediction.processing_polls:
            prediction.status = "processing"
        else:
            prediction.status = "failed" if prediction.error else "succeeded"

    async def _create(self, request: web.Request) -> web.Response:
        if self.create_status is not None:
            return self._problem(self.create_status)
        if not self._authorized(request):
            return self._problem(401)
        if self.create_body is not None:
            return web.Response(body=self.create_body, content_type="application/json")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._problem(422)
        prefer = request.headers.get("Prefer")
        self.creations.append((request.path, body, prefer))
        model_input = body.get("input") if isinstance(body, dict) else None
        if not isinstance(model_input, dict) or not isinstance(model_input.get("prompt"), str):
            return self._problem(422)
        if "owner" in request.match_info:
            model = f"{request.match_info['owner']}/{request.match_info['name']}"
            version = "dp-" + uuid.uuid4().hex[:24]
        elif isinstance(body.get("version"), str):
            model, version = "community/model", body["version"]
        else:
            return self._problem(422)
        count = model_input.get("num_outputs", 1)
        prediction = Prediction(
            id=uuid.uuid4().hex[:26],
            model=model,
            version=version,
            input=model_input,
            starting_polls=self.starting_polls,
            processing_polls=self.processing_polls,
            error=self.fail_next,
            images=[png_bytes(3 + n, 3) for n in range(count if isinstance(count, int) else 1)],
        )
        self.fail_next = None
        self.predictions[prediction.id] = prediction
        wait = re.fullmatch(r"wait(?:=(\d+))?", (prefer or "").strip())
        answer = self._json(prediction)
        if wait and self.finish_while_waiting:  # the model finished while the request was held
            prediction.status = "failed" if prediction.error else "succeeded"
            answer = self._json(prediction)
            if self.processing_when_waited:
                answer["status"] = "processing"
        return web.json_response(answer, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        if self.poll_errors:
            return self._problem(self.poll_errors.pop(0))
        if not self._authorized(request):
            return self._problem(401)
        prediction = self.predictions.get(request.match_info["id"])
        if prediction is None:
            return self._problem(404)
        self._advance(prediction)
        return web.json_response(self._json(prediction))

    async def _cancel(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._problem(401)
        prediction = self.predictions.get(request.match_info["id"])
        if prediction is None:
            return self._problem(404)
        self.cancels.append(prediction.id)
        if prediction.status not in ("succeeded", "failed"):
            prediction.status = "canceled"
        return web.json_response(self._json(prediction))

    async def _file(self, request: web.Request) -> web.Response:
        prediction = self.predictions.get(request.match_info["id"])
        n = int(request.match_info["n"])
        if prediction is None or prediction.status != "succeeded" or n >= len(prediction.images):
            return web.Response(status=404, text="Not Found")
        return web.Response(body=prediction.images[n], content_type="image/png")
