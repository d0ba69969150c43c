"""A round-robin HTTP load balancer on 127.0.0.1, for several bot replicas behind one webhook.

It behaves like nginx's default ``upstream`` with passive health checks::

    async with RoundRobinProxy([replica_a, replica_b]) as proxy:
        tg.route_webhook(to=proxy.url)  # the webhook's host now points at the proxy
        ...
        assert all(proxy.received[b] for b in proxy.backends)

* Each request (any method; path, query, headers and body) goes to the next live backend
  in turn, and its status, body and headers come back.
* A backend that refuses the connection is skipped: the request goes to the next one, and the
  refuser is left out of the rotation for ``fail_timeout`` seconds (tried again only when no
  other backend answers). When no backend answers: 502 Bad Gateway.
* A backend that accepted the request and then broke the connection is not retried (a POST may
  have been processed): 502. No answer within ``timeout``: 504 Gateway Timeout.
* Backends are added and removed at run time; ``block``/``unblock`` make the proxy treat one
  as refusing (a network cut) without touching its process.
* Like nginx by default, every forwarded request uses a new connection (no keep-alive to
  backends), so a backend that was killed is seen refusing at once.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.server import FakeServer

# Headers that belong to one connection, never forwarded (RFC 9110 section 7.6.1), plus the
# ones aiohttp computes itself. Bodies go through as bytes, still encoded as they came.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# aiohttp's server has already decoded a request body sent with Content-Encoding.
REQUEST_DROPPED = HOP_BY_HOP | {"content-encoding"}


@dataclass
class Forwarded:
    """One request the proxy handled: which backend answered it (None: none did) and how."""

    method: str
    path: str  # with the query string
    body: bytes
    backend: str | None
    status: int  # what the proxy answered (the backend's status, or 502/504)
    refused_by: tuple[str, ...]  # backends that refused it before one answered
    at: float  # time.monotonic() on arrival

    @property
    def update_id(self) -> int | None:
        """The Telegram update_id in the body, if it is an update."""
        with contextlib.suppress(ValueError, AttributeError):
            value = json.loads(self.body).get("update_id")
            return value if isinstance(value, int) else None
        return None


class _Refused(Exception):
    """The backend refused the connection (or is blocked): the next one may take the request."""


class RoundRobinProxy(FakeServer):
    """Round-robin over ``backends`` (``http://127.0.0.1:PORT`` each); see the module doc.

    Observing: ``forwarded`` (every request, oldest first), ``received`` (backend -> requests
    it answered), ``refused`` (backend -> connections it refused), ``update_ids(backend)``.
    """

    def __init__(
        self,
        backends: Iterable[str] = (),
        *,
        timeout: float = 30.0,
        fail_timeout: float = 1.0,
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.fail_timeout = fail_timeout
        self.forwarded: list[Forwarded] = []
        self.received: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._backends: list[str] = []
        self._blocked: set[str] = set()
        self._down_until: dict[str, float] = {}
        self._turn = 0
        self._client: aiohttp.ClientSession | None = None
        for backend in backends:
            self.add_backend(backend)

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{path:.*}", self._forward)]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def stop(self) -> None:
        await super().stop()
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- backends ----------------------------------------------------------------------------

    @property
    def backends(self) -> list[str]:
        """The backends in rotation order."""
        return list(self._backends)

    def add_backend(self, url: str) -> None:
        """Puts a backend (``http://127.0.0.1:PORT``) in the rotation (no-op if there)."""
        url = url.rstrip("/")
        if url not in self._backends:
            self._backends.append(url)
        self._down_until.pop(url, None)

    def remove_backend(self, url: str) -> None:
        """Takes a backend out of the rotation; requests it is answering still finish."""
        url = url.rstrip("/")
        if url in self._backends:
            self._backends.remove(url)

    def block(self, url: str) -> None:
        """The proxy sees this backend refusing connections until ``unblock``."""
        self._blocked.add(url.rstrip("/"))

    def unblock(self, url: str) -> None:
        url = url.rstrip("/")
        self._blocked.discard(url)
        self._down_until.pop(url, None)

    def update_ids(self, backend: str | None = None) -> list[int]:
        """The update_ids of the updates a backend answered 2xx (any backend if None), in the
        order they came."""
        return [
            f.update_id
            for f in self.forwarded
            if f.update_id is not None
            and f.backend is not None
            and (backend is None or f.backend == backend.rstrip("/"))
            and 200 <= f.status < 300
        ]

    # -- forwarding --------------------------------------------------------------------------

    def _candidates(self) -> list[str]:
        """This request's backends in the order to try: the live ones from this turn on, then
        those recently seen down (a last resort)."""
        now = time.monotonic()
        live = [b for b in self._backends if self._down_until.get(b, 0.0) <= now]
        down = [b for b in self._backends if b not in live]
        self._turn += 1
        if live:
            start = (self._turn - 1) % len(live)
            live = live[start:] + live[:start]
        return live + down

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = Forwarded(request.method, request.path_qs, body, None, 502, (), time.monotonic())
        self.forwarded.append(record)
        refused: list[str] = []
        for backend in self._candidates():
            try:
                response = await self._send(backend, request, body)
            except _Refused:
                refused.append(backend)
                self.refused[backend] += 1
                self._down_until[backend] = time.monotonic() + self.fail_timeout
                continue
            record.backend, record.status = backend, response.status
            record.refused_by = tuple(refused)
            return response
        record.refused_by = tuple(refused)
        return web.Response(status=502, text="502 Bad Gateway", content_type="text/html")

    async def _send(self, backend: str, request: web.Request, body: bytes) -> web.Response:
        """The backend's answer as a response to send back; 502 if it broke the connection
        after taking the request, 504 past the timeout."""
        if backend in self._blocked:
            raise _Refused(backend)
        if self._client is None:
            self._client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0),
                auto_decompress=False,
            )
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in REQUEST_DROPPED
        )
        headers["X-Forwarded-For"] = request.remote or ""
        headers["X-Forwarded-Host"] = request.host
        try:
            async with self._client.request(
                request.method,
                backend + request.path_qs,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as answer:
                payload = await answer.read()
                self.received[backend] += 1
                kept = CIMultiDict(
                    (k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP
                )
                return web.Response(status=answer.status, body=payload, headers=kept)
        except aiohttp.ClientConnectorError:
            raise _Refused(backend) from None
        except TimeoutError:
            return web.Response(status=504, text="504 Gateway Time-out", content_type="text/html")
        except aiohttp.ClientError:
            return web.Response(status=502, text="502 Bad Gateway", content_type="text/html")
