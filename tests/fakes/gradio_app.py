"""A loopback Gradio app whose endpoints have their own parameter lists, described at
``GET /gradio_api/info`` as Gradio describes them.

``POST /gradio_api/call/{api_name}`` takes ``{"data": [...]}`` (422 without a data list, 500
for an unknown endpoint, as Gradio answers) and returns an ``event_id``; inputs of the wrong
number or type end the job with ``{"error": null}`` and a slider value outside its range
with Gradio's "Value 30 is greater than maximum value 12.", both on the event's stream. The
stream itself and every knob of it (outcomes, previews, chunking, heartbeats) are
:class:`tests.fakes.sd35.FakeSD35`'s: the two share Gradio's call protocol.

Pictures go up first, as Gradio takes them: ``POST /gradio_api/upload`` with one multipart
``files`` part per file answers their server paths in order (400 for a body that is not such a
form), each recorded in ``uploads``; ``upload_answer`` replaces the answer when set. An Image,
File or Gallery input then takes FileData dicts (``{"path": ..., "meta": {"_type":
"gradio.FileData"}}``; a list of them for a File with ``many``; a list of ``{"image": FileData,
"caption": ...}`` for a Gallery) and a path that was never uploaded ends the job with Gradio's
"File ... is not in the upload folder and cannot be accessed.".
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.pollinations import FormPart, form_parts
from tests.fakes.sd35 import FakeSD35, Job

FILE_DATA_SCHEMA: dict[str, Any] = {
    "title": "FileData",
    "type": "object",
    "properties": {"path": {"type": "string"}, "meta": {"type": "object"}},
    "required": ["path"],
}


@dataclass(frozen=True)
class Param:
    """One input component: ``default`` is its initial value (None: the input is required)."""

    name: str
    component: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    many: bool = False
    """A File input that takes several files (``file_count="multiple"``)."""

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
        elif self.component == "File" and self.many:
            schema = {"title": "ListFiles", "type": "array", "items": FILE_DATA_SCHEMA}
            python_type = "list[filepath]"
        elif self.component == "File":
            schema, python_type = FILE_DATA_SCHEMA, "filepath"
        elif self.component == "Gallery":
            schema = {"title": "GalleryData", "type": "array", "items": {"type": "object"}}
            python_type = "list[dict(image: filepath, caption: str | None)]"
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
        if self.component in ("Image", "File", "Gallery"):
            return None if self.paths(value) is not None else ""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ""
        if self.minimum is not None and value < self.minimum:
            return f"Value {value} is less than minimum value {self.minimum}."
        if self.maximum is not None and value > self.maximum:
            return f"Value {value} is greater than maximum value {self.maximum}."
        return None

    def paths(self, value: Any) -> list[str] | None:
        """The server paths a picture input's value names, in order; None for a value of
        the wrong shape (or for an input that takes no files)."""
        if self.component == "Image" or (self.component == "File" and not self.many):
            items = [value]
        elif self.component == "Gallery" and isinstance(value, list):
            items = [entry.get("image") if isinstance(entry, dict) else None for entry in value]
        elif self.component == "File" and isinstance(value, list):
            items = value
        else:
            return None
        paths = [_file_data_path(item) for item in items]
        return [path for path in paths if path is not None] if None not in paths else None


def _file_data_path(value: Any) -> str | None:
    """The path of a FileData dict (with Gradio's ``meta``), None for anything else."""
    if not isinstance(value, dict) or value.get("meta") != {"_type": "gradio.FileData"}:
        return None
    path = value.get("path")
    return path if isinstance(path, str) and path else None


@dataclass(frozen=True)
class Upload:
    """One file that went up: where it landed, and the part it came in."""

    path: str
    part: FormPart


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

GALLERY_EDIT: list[Param] = [
    Param("prompt", "Textbox"),
    Param("images", "Gallery", []),
    Param("seed", "Slider", 0, 0, 1000),
]
"""``/combine``: several pictures as a gallery, a seed, no strength."""

FILES_EDIT: list[Param] = [
    Param("files", "File", many=True),
    Param("instruction", "Textbox"),
]
"""``/stack``: several pictures as a list of files; the prompt goes to the only text box."""


@dataclass
class AppJob(Job):
    """A job, with the reason Gradio would reject its inputs (None: they fit)."""

    endpoint: str = "/infer"
    problem: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


class FakeGradio(FakeSD35):
    """A Gradio app with ``endpoints`` (api_name -> parameters; change it before a job), and
    ``private`` (a token its files need).

    Records ``jobs`` (AppJob with ``values`` by parameter name), ``uploads`` (each file that
    went up, with its server path, in order) and everything FakeSD35 does.
    """

    def __init__(self) -> None:
        super().__init__()
        self.endpoints: dict[str, list[Param]] = {
            "/infer": FLUX_LIKE,
            "/edit": IMAGE_EDIT,
            "/combine": GALLERY_EDIT,
            "/stack": FILES_EDIT,
        }
        self.private: str | None = None
        """A token: files are then served only to requests that carry it (a private Space)."""
        self.uploads: list[Upload] = []
        self.upload_answer: Any = None
        """Answered to uploads instead of the paths, when set (a broken app)."""

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/gradio_api/info", self._info),
            web.post("/gradio_api/upload", self._upload),
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

    async def _upload(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        try:
            parts = form_parts(request.headers.get("Content-Type", ""), await request.read())
        except ValueError:
            return web.json_response({"detail": "Invalid content type."}, status=400)
        landed: list[str] = []
        for part in parts:
            if part.name != "files":
                continue
            digest = hashlib.sha256(part.data).hexdigest()[:40]
            path = f"/tmp/gradio/{digest}/{part.filename or 'tmpfile'}"
            self.uploads.append(Upload(path, part))
            landed.append(path)
        if self.upload_answer is not None:
            return web.json_response(self.upload_answer)
        return web.json_response(landed)

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
            if job.problem is None:
                job.problem = self._unknown_file(params, data)
        event_id = uuid.uuid4().hex
        self.jobs[event_id] = job
        return web.json_response({"event_id": event_id})

    def _unknown_file(self, params: list[Param], data: list[Any]) -> str | None:
        """Gradio's message for a file input naming a path that was never uploaded."""
        uploaded = {upload.path for upload in self.uploads}
        for param, value in zip(params, data, strict=True):
            for path in param.paths(value) or []:
                if path not in uploaded:
                    return f"File {path} is not in the upload folder and cannot be accessed."
        return None

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
