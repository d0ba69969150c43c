"""What the Bot API emulator's own tests share: chats, pictures, a clock and an
image host (the fixtures are in conftest.py)."""

from __future__ import annotations

import io

from aiohttp import web
from PIL import Image
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from tests.fakes.server import FakeServer

USER = 42  # a private chat: the chat id is the user's id
GROUP = -1001234567890  # a supergroup


def image(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


class FakeClock:
    """Stands in for time.monotonic so flood tests move time without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ImageHost(FakeServer):
    """Serves fixed bodies at /{name}, like an upstream's image URLs."""

    def __init__(self) -> None:
        self.bodies: dict[str, tuple[bytes, str]] = {}
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/{name}", self._serve)]

    async def _serve(self, request: web.Request) -> web.Response:
        body = self.bodies.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body[0], content_type=body[1])
