"""A loopback Gradio app whose endpoints have their own parameter lists, described at
``GET /gradio_api/info`` as Gradio describes them.

``POST /gradio_api/call/{api_name}`` takes ``{"data": [...]}`` (422 without a data list, 500
for an unknown endpoint, as Gradio answers) and returns an ``event_id``; inputs of the wrong
number or type end the job with ``{"error": null}`` and a slider value outside its range
with Gradio's "Value 30 is greater than maximum value 12.", both on the event's stream. The
stream itself and every knob of it (outcomes, previews, chunking, heartbeats) are
:class:`tests.fakes.sd35.FakeSD35`'s: the two share Gradio's call protocol.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.sd35 import FakeSD35, Job


@dataclass(frozen=True)
class Param:
    """One input component: ``default`` is its initial value (None: the input is required)."""

    name: str
    component: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def info(self) -> dict[str, Any]:
        """The parameter as ``/gradio_api/info`` lists it."""
        schema: dict[str, Any]
        python_type: str
        if self.component == "Textbox":
            schema, python_type = {"type": "string"}, "str"
        elif self.component == "Checkbox":
            schema, python_type = {"type": "boolean"}, "bool"
        elif self.component == "Dropdown":
            schema = {"type": "string", "enum": list(self.choices)}
            python_type = f"Literal[{', '.join(repr(c) for c in self.choices)}]"
        elif self.component == "Slider":
            schema = {
                "type": "number",
                "description": f"numeric value between {self.minimum} and {self.maximum}",
            }
            python_type = "float"
        elif self.component == "Image":
            schema, python_type = {"title": "ImageData", "type": "object"}, "filepath"
        else:
            raise AssertionError(f"unknown component {self.component}")
        return {
            "label": self.name.replace("_", " ").capitalize(),
            "parameter_name": self.name,
            "parameter_has_default": self.default is not None,
            "parameter_default": self.default,
            "type": schema,
            "python_type": {"type": python_type, "description": ""},
            "component": self.component,
            "example_input": self.default,
        }

    def problem(self, value: Any) -> str | None:
        """None when ``value`` fits; "" for a wrong type; Gradio's message when out of range."""
        if self.component in ("Textbox", "Dropdown"):
            fits = isinstance(value, str) and (not self.choices or value in self.choices)
            return None if fits else ""
        if self.component == "Checkbox":
            return None if isinstance(value, bool) else ""
        if self.component == "Image":
            return None if isinstance(value, dict) else ""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ""
        if self.minimum is not None and value < self.minimum:
            return f"Value {value} is less than minimum value {self.minimum}."
        if self.maximum is not None and value > self.maximum:
            return f"Value {value} is greater than maximum value {self.maximum}."
        return None


FLUX_LIKE: list[Param] = [
    Param("prompt", "Textbox"),
    Param("seed", "Slider", 42, 0, 2147483647),
    Param("randomize_seed", "Checkbox", True),
    Param("width", "Slider", 1024, 256, 1536),
    Param("height", "Slider", 1024, 256, 1536),
    Param("num_inference_steps", "Slider", 4, 1, 12),
    Param("style", "Dropdown", "photo", choices=("photo", "anime")),
]
"""``/infer``: not SD 3.5's list: no negative prompt or guidance, another order, an extra
input with a default."""

IMAGE_EDIT: list[Param] = [
    Param("image", "Image"),
    Param("prompt", "Textbox"),
    Param("strength", "Slider", 0.8, 0, 1),
]
"""``/edit``: needs an input picture, which a text-to-image request cannot fill."""


@dataclass
class AppJob(Job):
    """A job, with the reason Gradio would reject its inputs (None: they fit)."""

    endpoint: str = "/infer"
    problem: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


class FakeGradio(FakeSD35):
    """A Gradio app with ``endpoints`` (api_name -> parameters; change it before a job), and
    ``private`` (a token its files need).

    Records ``jobs`` (AppJob with ``values`` by parameter name) and everything FakeSD35 does.
    """

    def __init__(self) -> None:
        super().__init__()
        self.endpoints: dict[str, list[Param]] = {"/infer": FLUX_LIKE, "/edit": IMAGE_EDIT}
        self.private: str | None = None
        """A token: files are then served only to requests that carry it (a private Space)."""

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/gradio_api/info", self._info),
            web.post("/gradio_api/call/{api_name}", self._submit),
            web.get("/gradio_api/call/{api_name}/{event_id}", self._stream),
            web.get("/gradio_api/file={path:.+}", self._private_file),
        ]

    def info(self) -> dict[str, Any]:
        """The app's ``/gradio_api/info``."""
        returns = [
            {"label": "Result", "type": {"type": "object"}, "component": "Image"},
            {"label": "Seed", "type": {"type": "number"}, "component": "Number"},
        ]
        return {
            "named_endpoints": {
                name: {
                    "parameters": [param.info() for param in params],
                    "returns": returns,
                    "api_visibility": "public",
                    "description": "",
                }
                for name, params in self.endpoints.items()
            },
            "unnamed_endpoints": {},
        }

    def job_seed(self, job: Job) -> int:
        """The posted seed unless randomize_seed is on (or missing with no seed at all)."""
        assert isinstance(job, AppJob)
        values = job.values
        if "seed" in values and values.get("randomize_seed", False) is False:
            return int(values["seed"])
        return random.randint(0, 2**31 - 1)

    async def _info(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        return web.json_response(self.info())

    async def _private_file(self, request: web.Request) -> web.Response:
        if self.private and request.headers.get("Authorization") != f"Bearer {self.private}":
            return web.json_response({"detail": "Not authenticated"}, status=401)
        return await self._file(request)

    async def _submit(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        params = self.endpoints.get("/" + request.match_info["api_name"])
        if params is None:
            return web.Response(status=500, text="Internal Server Error")
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"detail": [{"type": "json_invalid"}]}, status=422)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            return web.json_response({"detail": [{"type": "missing"}]}, status=422)
        job = AppJob(data, endpoint="/" + request.match_info["api_name"])
        if len(data) != len(params):
            job.problem = ""
        else:
            job.values = {param.name: value for param, value in zip(params, data, strict=True)}
            problems = [param.problem(value) for param, value in zip(params, data, strict=True)]
            job.problem = next((p for p in problems if p is not None), None)
        event_id = uuid.uuid4().hex
        self.jobs[event_id] = job
        return web.json_response({"event_id": event_id})

    async def _play(self, request: web.Request, response: web.StreamResponse, job: Job) -> None:
        assert isinstance(job, AppJob)
        if job.problem is None:
            await super()._play(request, response, job)
            return
        if job.problem:
            error = {"error": job.problem, "duration": 10, "visible": True, "title": "Error"}
            await self._send(response, "error", error)
        else:
            await self._send(response, "error", {"error": None})
        await response.write_eof()
