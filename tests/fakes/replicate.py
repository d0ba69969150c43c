"""A loopback Replicate API (``/v1``): predictions, ``Prefer: wait``, polling, cancel, files.

POST ``/v1/models/{owner}/{name}/predictions`` (or ``/v1/predictions`` with a version) creates
a prediction; GET ``/v1/predictions/{id}`` reports it; POST ``/v1/predictions/{id}/cancel``
cancels it. Errors come as Replicate's problem JSON (``{title, detail, status}``). Output
images are served at ``/files/{id}/{n}.png``.

For edit models: GET ``/v1/models/{owner}/{name}`` (and ``.../versions/{id}``) publish each
model's input schema (``latest_version.openapi_schema``, ``components.schemas.Input``); POST
``/v1/files`` (multipart part ``content``) uploads a file whose ``urls.get`` a prediction may
take as input. A prediction's pictures (data URLs, or uploaded files' URLs) are decoded and
recorded; an input whose shape (list or not) differs from the model's schema, or a data URL
longer than ``data_url_limit``, is a 422 as Replicate answers it.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.dynaspark import parse_multipart
from tests.fakes.fal import DataUrl, decode_data_url
from tests.fakes.prodia import png_bytes
from tests.fakes.server import FakeServer

SENSITIVE = (
    "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
)
"""How a prediction fails when Replicate's moderation flags it."""

URI = {"type": "string", "format": "uri"}

KONTEXT_INPUT: dict[str, Any] = {
    "prompt": {"type": "string", "title": "Prompt"},
    "input_image": {**URI, "title": "Input Image"},
    "aspect_ratio": {"allOf": [{"$ref": "#/components/schemas/aspect_ratio"}]},
    "seed": {"type": "integer", "title": "Seed", "nullable": True},
    "output_format": {"allOf": [{"$ref": "#/components/schemas/output_format"}]},
    "safety_tolerance": {"type": "integer", "maximum": 6, "minimum": 0, "default": 2},
}
"""FLUX.1 Kontext's published input properties (trimmed to what matters here)."""

LIST_INPUT: dict[str, Any] = {
    "prompt": {"type": "string", "title": "Prompt"},
    "image_input": {"type": "array", "items": URI, "title": "Image Input", "default": []},
    "output_format": {"type": "string", "default": "jpg"},
}
"""A model that takes a list of pictures under a singular name (as google/nano-banana does)."""

STRENGTH_INPUT: dict[str, Any] = {
    "prompt": {"type": "string"},
    "image": {**URI, "title": "Image"},
    "prompt_strength": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.8},
    "num_outputs": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
}
"""An image-to-image model with a ``prompt_strength`` (as black-forest-labs/flux-dev)."""

SCHEMAS: dict[str, dict[str, Any]] = {
    "black-forest-labs/flux-kontext-pro": KONTEXT_INPUT,
    "black-forest-labs/flux-kontext-max": KONTEXT_INPUT,
    "black-forest-labs/flux-dev": STRENGTH_INPUT,
}
"""Input properties the fake publishes for these models; others publish only a prompt."""

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
    pictures: dict[str, DataUrl | list[DataUrl]] = field(default_factory=dict)
    """The pictures its input brought (data URLs, or uploaded files), by field."""


@dataclass
class Upload:
    """A file sent to the files API."""

    id: str
    filename: str
    content_type: str
    data: bytes
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

    ``schemas`` maps a model to the input properties it publishes (:data:`SCHEMAS` to begin
    with; any other model publishes a prompt only).

    Misbehaviour: ``create_status`` (answer creations with that status as problem JSON),
    ``create_body`` (a raw body), ``poll_errors`` (statuses for the next polls, one each),
    ``schema_status`` (answer model lookups with that status), ``fail_next`` =
    :data:`SENSITIVE` for a prediction moderation flags. Records: ``predictions``,
    ``creations`` (path, body, Prefer header), ``cancels`` (ids), ``schema_fetches`` (model
    lookups' paths), ``uploads`` (files).
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
        self.schemas: dict[str, dict[str, Any]] = dict(SCHEMAS)
        self.schema_status: int | None = None
        self.data_url_limit = 1_000_000
        self.schema_fetches: list[str] = []
        self.uploads: dict[str, Upload] = {}
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
            web.get("/v1/models/{owner}/{name}", self._model),
            web.get("/v1/models/{owner}/{name}/versions/{version}", self._version),
            web.post("/v1/files", self._upload),
            web.get("/v1/files/{id}", self._uploaded),
        ]

    def file_url(self, upload: Upload) -> str:
        """The ``urls.get`` of an uploaded file."""
        return f"{self.api}/files/{upload.id}"

    def _problem(self, status: int, detail: str | None = None) -> web.Response:
        title, known = PROBLEMS.get(status, ("Error", "error"))
        detail = detail or known
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
        problem = self._input_problem(model, model_input)
        if problem:
            return self._problem(422, problem)
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
            pictures=self._pictures(model_input),
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

    # --- edit models: schemas, files, pictures ---------------------------------------------

    def _input_problem(self, model: str, model_input: dict[str, Any]) -> str | None:
        """Replicate's validation message for an input the model's schema refuses."""
        properties = self.schemas.get(model, {})
        for name, value in model_input.items():
            declared = properties.get(name)
            if isinstance(declared, dict) and declared.get("type") == "array":
                if not isinstance(value, list):
                    return f"- input.{name}: Invalid type. Expected: array, given: string"
            elif isinstance(declared, dict) and isinstance(value, list):
                return f"- input.{name}: Invalid type. Expected: string, given: array"
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.startswith("data:"):
                    if len(item) > self.data_url_limit:
                        return f"- input.{name}: data URL too large; upload the file instead"
                    try:
                        decode_data_url(item)
                    except ValueError:
                        return f"- input.{name}: could not decode the data URL"
        return None

    def _picture(self, value: object) -> DataUrl | None:
        """A picture input: a data URL decoded, or an uploaded file's URL resolved."""
        prefix = f"{self.api}/files/"
        if isinstance(value, str) and value.startswith(prefix):
            upload = self.uploads.get(value.removeprefix(prefix))
            return DataUrl(upload.content_type, upload.data) if upload else None
        return decode_data_url(value)

    def _pictures(self, model_input: dict[str, Any]) -> dict[str, DataUrl | list[DataUrl]]:
        found: dict[str, DataUrl | list[DataUrl]] = {}
        for name, value in model_input.items():
            if isinstance(value, list):
                items = [self._picture(item) for item in value]
                if items and all(item is not None for item in items):
                    found[name] = [item for item in items if item is not None]
            elif (one := self._picture(value)) is not None:
                found[name] = one
        return found

    def _schema(self, model: str, version: str) -> dict[str, Any]:
        """A version object as Replicate publishes it, with the model's OpenAPI schema."""
        properties = self.schemas.get(model, {"prompt": {"type": "string", "title": "Prompt"}})
        return {
            "id": version,
            "created_at": "2025-05-29T19:00:00.000000Z",
            "cog_version": "0.14.0",
            "openapi_schema": {
                "openapi": "3.0.2",
                "info": {"title": "Cog", "version": "0.1.0"},
                "paths": {},
                "components": {
                    "schemas": {
                        "Input": {
                            "type": "object",
                            "title": "Input",
                            "required": ["prompt"],
                            "properties": properties,
                        },
                        "Output": {"type": "string", "format": "uri", "title": "Output"},
                    }
                },
            },
        }

    async def _model(self, request: web.Request) -> web.Response:
        self.schema_fetches.append(request.path)
        if self.schema_status is not None:
            return self._problem(self.schema_status)
        if not self._authorized(request):
            return self._problem(401)
        owner, name = request.match_info["owner"], request.match_info["name"]
        return web.json_response(
            {
                "url": f"https://replicate.com/{owner}/{name}",
                "owner": owner,
                "name": name,
                "description": "A model served by the fake.",
                "visibility": "public",
                "github_url": None,
                "paper_url": None,
                "license_url": None,
                "run_count": 42,
                "cover_image_url": None,
                "default_example": None,
                "latest_version": self._schema(f"{owner}/{name}", "v" + "0" * 63),
            }
        )

    async def _version(self, request: web.Request) -> web.Response:
        self.schema_fetches.append(request.path)
        if self.schema_status is not None:
            return self._problem(self.schema_status)
        if not self._authorized(request):
            return self._problem(401)
        model = f"{request.match_info['owner']}/{request.match_info['name']}"
        return web.json_response(self._schema(model, request.match_info["version"]))

    def _file_json(self, upload: Upload) -> dict[str, Any]:
        return {
            "id": upload.id,
            "name": upload.filename,
            "content_type": upload.content_type,
            "size": len(upload.data),
            "etag": uuid.uuid5(uuid.NAMESPACE_OID, upload.id).hex,
            "checksums": {},
            "metadata": {},
            "created_at": upload.created_at,
            "expires_at": None,
            "urls": {"get": self.file_url(upload)},
        }

    async def _upload(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._problem(401)
        if not request.content_type.startswith("multipart/"):
            return self._problem(422, "- content: a multipart/form-data body is required")
        try:
            parts = parse_multipart(request.headers["Content-Type"], await request.read())
        except ValueError:
            return self._problem(400, "the multipart body could not be read")
        content = parts.get("content")
        if content is None:
            return self._problem(422, "- content: is required")
        kind = content.content_type or "application/octet-stream"
        upload = Upload(uuid.uuid4().hex[:12], content.filename or "file", kind, content.value)
        self.uploads[upload.id] = upload
        return web.json_response(self._file_json(upload), status=201)

    async def _uploaded(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._problem(401)
        upload = self.uploads.get(request.match_info["id"])
        if upload is None:
            return self._problem(404)
        return web.json_response(self._file_json(upload))
