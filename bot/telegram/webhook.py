"""One replica's web server: Telegram's updates in by webhook, and ``GET /healthz`` for the
load balancer.

An update is answered 200 once it was handled (so a replica that dies mid-update makes
Telegram send it again), and it is handled once whichever replica receives it: the caller's
``take`` decides from the shared database whether this replica handles it, drops a copy
already handled, or answers 503 while another replica is still handling it (Telegram tries
again later; if that replica died meanwhile, the update becomes this one's).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from bot.storage.replicas import UpdateVerdict

log = logging.getLogger(__name__)

Take = Callable[[int], Awaitable[UpdateVerdict]]
Handle = Callable[[dict[str, Any]], Awaitable[None]]
Finished = Callable[[int], Awaitable[None]]
Checks = Callable[[], Awaitable[tuple[bool, Mapping[str, bool]]]]
"""Whether the replica can serve, and what was checked (name: answers)."""

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookServer:
    """Serves ``path`` (Telegram's POSTs carrying ``secret``) and ``/healthz`` on
    ``listen:port``. :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        *,
        listen: str,
        port: int,
        path: str,
        secret: str,
        take: Take,
        handle: Handle,
        finished: Finished,
        checks: Checks,
    ) -> None:
        self.listen, self.port = listen, port
        self._secret = secret.encode()
        self._take, self._handle, self._finished, self._checks = take, handle, finished, checks
        self._handling: set[int] = set()  # update ids this process is handling now
        app = web.Application()
        app.router.add_post("/" + path.strip("/"), self._update)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self.listen, self.port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403)
        try:
            data = await request.json()
            update_id = int(data["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        if update_id in self._handling:
            return web.Response(status=503)  # still at it: Telegram sends it again later
        try:
            verdict = await self._take(update_id)
        except Exception as error:  # the database is away: Telegram keeps the update
            log.warning("update %s not taken: %s", update_id, error)
            return web.Response(status=503)
        if verdict == "busy":
            return web.Response(status=503)
        if verdict == "mine":
            self._handling.add(update_id)
            try:
                await self._handle(data)
                await self._finished(update_id)
            finally:
                self._handling.discard(update_id)
        return web.Response(status=200)

    async def _health(self, request: web.Request) -> web.Response:
        ok, checks = await self._checks()
        body = json.dumps({"ok": ok, **checks})
        return web.Response(status=200 if ok else 503, text=body, content_type="application/json")
