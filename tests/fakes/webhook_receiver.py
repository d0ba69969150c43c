"""A webhook endpoint for the emulator's and the proxy's own tests: records every update it is
POSTed and answers what the test scripted (a status, holding the request, dropping the
connection), on a port it keeps across a stop and a start."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from tests.fakes.server import FakeServer

HOLD = "hold"  # the request waits until ``release()``, then gets the default status
DROP = "drop"  # the connection is closed without an answer


class Receiver(FakeServer):
    """POSTs to ``path`` are updates: ``updates`` holds them in arrival order (redeliveries
    too), ``secrets`` the secret header of each. The next requests get ``script``'s entries
    in turn (a status, HOLD, DROP or a whole ``web.Response``), then ``default``. Each
    answer's body names the receiver (``{"ok": true, "by": name}``)."""

    def __init__(self, name: str = "receiver", path: str = "/tg/hook") -> None:
        self.name = name
        self.path = path
        super().__init__()
        self.updates: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.script: deque[int | str | web.Response] = deque()
        self.default = 200
        self.in_flight = 0
        self.peak = 0  # the most requests it was answering at once
        self.port = 0
        self._released = asyncio.Event()
        self._change = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{tail:.*}", self._receive)]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def start(self, port: int | None = None) -> str:
        """Listens on ``port``, or on the port it had before (a restart), or on a free one."""
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port or self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}"
        return self.url

    @property
    def update_ids(self) -> list[int]:
        return [int(u["update_id"]) for u in self.updates]

    def release(self) -> None:
        """Lets every held request (and any later HOLD) answer."""
        self._released.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Returns once ``predicate()`` holds, re-checked whenever a request arrives or ends."""
        async with asyncio.timeout(timeout):
            while not predicate():
                change = self._change
                await change.wait()

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST" or request.path != self.path:
            raise web.HTTPNotFound()
        with contextlib.suppress(ValueError):
            self.updates.append(json.loads(await request.read()))
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self._changed()
        try:
            action = self.script.popleft() if self.script else self.default
            if isinstance(action, web.Response):
                return action
            if action == HOLD:
                await self._released.wait()
                action = self.default
            if action == DROP:
                assert request.transport is not None
                request.transport.abort()
                raise asyncio.CancelledError  # nothing left to answer on
            return web.json_response({"ok": True, "by": self.name}, status=int(action))
        finally:
            self.in_flight -= 1
            self._changed()
