"""A loopback Pollinations gateway: ``GET /image/{prompt}`` answers a JPEG, and the
OpenAI-compatible ``/v1/chat/completions`` of :class:`tests.fakes.openai_api.FakeOpenAI`.

Point the provider at ``fake.url`` (Pollinations' base has no ``/v1``).

Knobs, beside the chat ones of FakeOpenAI: ``api_key`` (the Bearer key accepted),
``fail_image(fault, times)`` with ``401``, ``402`` (no pollen left), ``429`` (Retry-After
``retry_after``), ``500`` or ``not_image`` (200 with an HTML page). Each GET is recorded in
``image_gets`` with the prompt decoded from the raw path, the query and the Authorization.
"""

from __future__ import annotations

import io
import urllib.parse
from dataclasses import dataclass
from functools import cache
from typing import Literal

from aiohttp import web
from PIL import Image

from tests.fakes.openai_api import FakeOpenAI

ImageFault = Literal["401", "402", "429", "500", "not_image"]


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


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"status": status, "success": False, "error": {"code": code, "message": message}}
    return web.json_response(body, status=status, headers=headers)


class FakePollinations(FakeOpenAI):
    """Pollinations' image GET and its OpenAI-compatible chat on one loopback port."""

    def __init__(self, api_key: str | None = "pk_test_fake_pollen_key") -> None:
        super().__init__(api_key=api_key)
        self.image_gets: list[ImageGet] = []
        self._image_faults: list[ImageFault] = []

    def fail_image(self, fault: ImageFault, times: int = 1) -> None:
        """The next ``times`` picture requests answer with ``fault``."""
        self._image_faults.extend([fault] * times)

    def routes(self) -> list[web.RouteDef]:
        return [*super().routes(), web.get("/image/{prompt:.+}", self._image)]

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
