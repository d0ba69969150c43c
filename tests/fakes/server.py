"""A tiny base for loopback fakes: an aiohttp.web app on 127.0.0.1 with a request log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    form: dict[str, Any] = field(default_factory=dict)


class FakeServer:
    """Start with ``await fake.start()``; ``fake.url`` is its root; stop with ``await fake.stop()``.

    ``connections`` counts distinct TCP connections seen, so tests can prove pooling.
    Subclasses add routes in :meth:`routes`.
    """

    def __init__(self) -> None:
        self.app = web.Application(middlewares=[self._record], client_max_size=64 * 1024**2)
        self.app.add_routes(self.routes())
        self.requests: list[Seen] = []
        self._peers: set[object] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def routes(self) -> list[web.RouteDef]:
        return []

    @property
    def connections(self) -> int:
        return len(self._peers)

    def seen(self, path_part: str) -> list[Seen]:
        """Requests whose path contains ``path_part``."""
        return [r for r in self.requests if path_part in r.path]

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.transport is not None:
            self._peers.add(request.transport.get_extra_info("peername"))
        body = await request.read()
        self.requests.append(
            Seen(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        return await handler(request)

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
