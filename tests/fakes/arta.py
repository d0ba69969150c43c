"""A loopback ARTA: Google's anonymous sign-up and token refresh, text2image and status polling.

Point a provider at it with ``provider_context(tmp_path, **fake.overrides)``.

Knobs:

- ``queue_polls`` / ``progress_polls``: how many status polls of a job answer IN_QUEUE, then
  IN_PROGRESS, before DONE;
- ``fail_next_job(status)``: the next job ends with ``status`` (e.g. FAILED) instead of DONE;
- ``revoke_tokens(refresh=False)``: issued id tokens (and refresh tokens) stop working, so the
  next API call gets a 401 (and a refresh gets Google's 400 INVALID_REFRESH_TOKEN);
- ``fail(endpoint, fault, times)``: the next ``times`` requests to ``endpoint`` (``signup``,
  ``refresh``, ``generate``, ``status``) answer with ``fault``: ``401``, ``500``, ``429``
  (with Retry-After ``retry_after``), ``malformed`` (not JSON) or ``missing`` (JSON without the
  field the client needs: idToken, id_token, record_id; on ``status`` the polled job's DONE
  answer comes without image URLs) or ``hang`` (``generate`` and ``signup`` only: no answer
  at all);
  ``heal()`` drops the pending faults;
- refresh tokens rotate: each one works once, as the client must keep the newest;
- ``image_fault``: what the finished images' URLs serve instead of a PNG: ``html`` (a login
  page), ``random`` (random bytes as image/png), ``huge`` (``huge_bytes`` of data, streamed
  without a length), ``redirect`` (a 302 to ``redirect_to``), ``slow`` (never finishes);
- ``result_url``: every job's images point here instead (an internal address, say);
- counters ``signups``, ``refreshes`` (requests received) and the ``jobs`` created, each with
  the form and Authorization header it was submitted with.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import urllib.parse
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from functools import cache
from typing import Any, Literal

from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeServer

Endpoint = Literal["signup", "refresh", "generate", "status"]
Fault = Literal["401", "500", "429", "malformed", "missing", "hang"]
ImageFault = Literal["html", "random", "huge", "redirect", "slow"]

FORM_FIELDS = (
    "prompt",
    "negative_prompt",
    "style",
    "images_num",
    "cfg_scale",
    "steps",
    "aspect_ratio",
    "seed",
)


@dataclass
class ArtaJob:
    """One text2image submission as the fake saw it."""

    record_id: str
    form: dict[str, str]
    authorization: str
    polls: int = 0
    final_status: str = "DONE"
    drop_urls: bool = False
    urls: list[str] = field(default_factory=list)


@cache
def png_bytes(index: int = 0) -> bytes:
    """A small PNG, a different colour per index."""
    colours = [(200, 60, 60), (60, 200, 60), (60, 60, 200), (200, 200, 60)]
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colours[index % len(colours)]).save(buffer, format="PNG")
    return buffer.getvalue()


def parse_form(content_type: str, body: bytes) -> dict[str, str] | None:
    """The fields of a urlencoded or multipart form body, or None for any other body."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        fields: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload.decode()
        return fields
    return None


def _google_error(status: int, message: str) -> web.Response:
    body = {"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}}
    return web.json_response(body, status=status)


class FakeArta(FakeServer):
    """ARTA and its Firebase auth on one loopback port."""

    project_id = "fake-arta-project"
    signup_path = "/identitytoolkit/v3/relyingparty/signupNewUser"
    refresh_path = "/v1/token"

    def __init__(self, *, queue_polls: int = 1, progress_polls: int = 1) -> None:
        super().__init__()
        self.queue_polls = queue_polls
        self.progress_polls = progress_polls
        self.expires_in = 3600
        self.retry_after = "7"
        self.signups = 0
        self.refreshes = 0
        self.jobs: dict[str, ArtaJob] = {}
        self.id_tokens: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._next_final_status: str | None = None
        self.image_fault: ImageFault | None = None
        self.huge_bytes = 200 * 1024 * 1024
        self.redirect_to = ""
        self.result_url: str | None = None
        self.image_requests = 0
        self._stopping = asyncio.Event()

    async def stop(self) -> None:
        self._stopping.set()
        await super().stop()

    # --- addresses -------------------------------------------------------------------------

    @property
    def auth_url(self) -> str:
        return f"{self.url}{self.signup_path}?key=fake-key"

    @property
    def refresh_url(self) -> str:
        return f"{self.url}{self.refresh_path}?key=fake-key"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def overrides(self) -> dict[str, str]:
        """ProviderSettings fields pointing ARTA at this fake."""
        return {
            "arta_auth_url": self.auth_url,
            "arta_token_refresh_url": self.refresh_url,
            "arta_api_url": self.api_url,
        }

    # --- knobs -----------------------------------------------------------------------------

    def fail(self, endpoint: Endpoint, fault: Fault, times: int = 1) -> None:
        """The next ``times`` requests to ``endpoint`` answer with ``fault``."""
        self._faults.setdefault(endpoint, []).extend([fault] * times)

    def heal(self) -> None:
        """Forgets every pending fault: the upstream works again."""
        self._faults.clear()

    def fail_next_job(self, status: str = "FAILED") -> None:
        """The next submitted job ends with ``status`` after its queue polls."""
        self._next_final_status = status

    def revoke_tokens(self, *, refresh: bool = False) -> None:
        """Issued id tokens (and, with ``refresh``, refresh tokens) are no longer accepted."""
        self.id_tokens.clear()
        if refresh:
            self.refresh_tokens.clear()

    @property
    def job_list(self) -> list[ArtaJob]:
        return list(self.jobs.values())

    # --- protocol --------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(self.signup_path, self._signup),
            web.post(self.refresh_path, self._refresh),
            web.post("/api/v1/text2image", self._text2image),
            web.get("/api/v1/text2image/{record_id}/status", self._status),
            web.get("/images/{record_id}/{index}.png", self._image),
        ]

    def _fault(self, endpoint: Endpoint) -> Fault | None:
        pending = self._faults.get(endpoint)
        return pending.pop(0) if pending else None

    def _transport_fault(self, fault: Fault | None) -> web.Response | None:
        if fault == "401":
            return web.json_response({"detail": "Unauthorized"}, status=401)
        if fault == "500":
            return web.json_response({"detail": "Internal Server Error"}, status=500)
        if fault == "429":
            return web.json_response(
                {"detail": "Too Many Requests"},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if fault == "malformed":
            return web.Response(text="<html>oops", content_type="application/json")
        return None

    def _issue(self, user_id: str) -> tuple[str, str]:
        id_token = f"id-{secrets.token_urlsafe(24)}"
        refresh_token = f"rt-{secrets.token_urlsafe(24)}"
        self.id_tokens[id_token] = user_id
        self.refresh_tokens[refresh_token] = user_id
        return id_token, refresh_token

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "") in self.id_tokens

    async def _signup(self, request: web.Request) -> web.Response:
        self.signups += 1
        fault = self._fault("signup")
        if fault == "hang":
            await self._stopping.wait()  # no answer while the fake runs; the client gives up
            raise web.HTTPServiceUnavailable()
        if (response := self._transport_fault(fault)) is not None:
            return response
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return _google_error(400, "INVALID_JSON_PAYLOAD")
        if not isinstance(payload, dict) or payload.get("clientType") != "CLIENT_TYPE_ANDROID":
            return _google_error(400, "MISSING_CLIENT_TYPE")
        user_id = secrets.token_hex(14)
        id_token, refresh_token = self._issue(user_id)
        body: dict[str, Any] = {
            "kind": "identitytoolkit#SignupNewUserResponse",
            "idToken": id_token,
            "refreshToken": refresh_token,
            "expiresIn": str(self.expires_in),
            "localId": user_id,
        }
        if fault == "missing":
            del body["idToken"]
        return web.json_response(body)

    async def _refresh(self, request: web.Request) -> web.Response:
        self.refreshes += 1
        fault = self._fault("refresh")
        if (response := self._transport_fault(fault)) is not None:
            return response
        form = parse_form(request.headers.get("Content-Type", ""), await request.read())
        if form is None or form.get("grant_type") != "refresh_token":
            return _google_error(400, "INVALID_GRANT_TYPE")
        user_id = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if user_id is None:
            return _google_error(400, "INVALID_REFRESH_TOKEN")
        id_token, refresh_token = self._issue(user_id)
        body: dict[str, Any] = {
            "access_token": id_token,
            "expires_in": str(self.expires_in),
            "token_type": "Bearer",
            "refresh_token": refresh_token,
            "id_token": id_token,
            "user_id": user_id,
            "project_id": self.project_id,
        }
        if fault == "missing":
            del body["id_token"]
        return web.json_response(body)

    async def _text2image(self, request: web.Request) -> web.Response:
        fault = self._fault("generate")
        if fault == "hang":
            await self._stopping.wait()  # no answer while the fake runs; the client gives up
            raise web.HTTPServiceUnavailable()
        if (response := self._transport_fault(fault)) is not None:
            return response
        if not self._authorized(request):
            return web.json_response({"detail": "Unauthorized"}, status=401)
        form = parse_form(request.headers.get("Content-Type", ""), await request.read())
        if form is None:
            return web.json_response({"detail": "expected a form"}, status=422)
        absent = [name for name in FORM_FIELDS if name not in form]
        if absent:
            return web.json_response({"detail": f"missing fields: {absent}"}, status=422)
        try:
            images = int(form["images_num"])
        except ValueError:
            return web.json_response({"detail": "images_num must be an integer"}, status=422)
        if not 1 <= images <= 4:
            return web.json_response({"detail": "images_num out of range"}, status=422)
        record_id = secrets.token_hex(12)
        job = ArtaJob(record_id, form, request.headers["Authorization"])
        if self._next_final_status is not None:
            job.final_status, self._next_final_status = self._next_final_status, None
        job.urls = [
            self.result_url or f"{self.url}/images/{record_id}/{i}.png" for i in range(images)
        ]
        self.jobs[record_id] = job
        if fault == "missing":
            return web.json_response({"status": "IN_QUEUE"})
        return web.json_response({"record_id": record_id, "status": "IN_QUEUE"})

    async def _status(self, request: web.Request) -> web.Response:
        fault = self._fault("status")
        if (response := self._transport_fault(fault)) is not None:
            return response
        if not self._authorized(request):
            return web.json_response({"detail": "Unauthorized"}, status=401)
        job = self.jobs.get(request.match_info["record_id"])
        if job is None:
            return web.json_response({"detail": "record not found"}, status=404)
        job.polls += 1
        job.drop_urls = job.drop_urls or fault == "missing"
        body: dict[str, Any] = {"record_id": job.record_id, "response": None}
        if job.polls <= self.queue_polls:
            body["status"] = "IN_QUEUE"
        elif job.final_status != "DONE":
            body["status"] = job.final_status
        elif job.polls <= self.queue_polls + self.progress_polls:
            body["status"] = "IN_PROGRESS"
        else:
            body["status"] = "DONE"
            if not job.drop_urls:
                body["response"] = [{"url": url} for url in job.urls]
        return web.json_response(body)

    async def _image(self, request: web.Request) -> web.StreamResponse:
        self.image_requests += 1
        if self.image_fault is not None:
            return await self._bad_image(request, self.image_fault)
        job = self.jobs.get(request.match_info["record_id"])
        index = int(request.match_info["index"]) if request.match_info["index"].isdigit() else -1
        if job is None or not 0 <= index < len(job.urls):
            raise web.HTTPNotFound()
        return web.Response(body=png_bytes(index), content_type="image/png")

    async def _bad_image(self, request: web.Request, fault: ImageFault) -> web.StreamResponse:
        if fault == "html":
            return web.Response(
                text="<html><body>Please log in</body></html>", content_type="text/html"
            )
        if fault == "random":
            return web.Response(body=secrets.token_bytes(4096), content_type="image/png")
        if fault == "redirect":
            raise web.HTTPFound(self.redirect_to)
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if fault == "slow":
            await response.write(png_bytes(0)[:16])
            await self._stopping.wait()  # drips nothing more while the fake runs
        chunk = bytes(1024 * 1024)
        for _ in range(self.huge_bytes // len(chunk)):
            await response.write(chunk)
        await response.write_eof()
        return response
