"""The shared HTTP layer: error mapping, timeouts, pooling and the PROXY setting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from providers import (
    AuthError,
    ProviderSettings,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
)
from providers.core.http import HttpClient
from tests.fakes.server import FakeServer


class Upstream(FakeServer):
    """Answers /status/<code>, /slow (never answers in time), /json and /broken."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/status/{code}", self._status),
            web.get("/slow", self._slow),
            web.get("/json", self._json),
            web.get("/broken", self._broken),
        ]

    async def _status(self, request: web.Request) -> web.Response:
        headers = {"Retry-After": "12"} if request.match_info["code"] == "429" else {}
        return web.Response(status=int(request.match_info["code"]), headers=headers, text="nope")

    async def _slow(self, request: web.Request) -> web.Response:
        await self.release.wait()
        return web.Response(text="late")

    async def _json(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _broken(self, request: web.Request) -> web.Response:
        return web.Response(text="<html>not json</html>")


class ForwardProxy(FakeServer):
    """A plain-HTTP forward proxy: records the absolute URLs it is asked for and fetches them."""

    def __init__(self) -> None:
        super().__init__()
        self.forwarded: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{tail:.*}", self._forward)]

    async def _forward(self, request: web.Request) -> web.Response:
        self.forwarded.append(str(request.url))
        async with (
            aiohttp.ClientSession() as session,
            session.request(request.method, request.url, data=await request.read()) as answer,
        ):
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type=answer.content_type)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server  # type: ignore[misc]
        server.release.set()


def client(tmp_path: Path, **settings: Any) -> HttpClient:
    return HttpClient(ProviderSettings(_env_file=None, data_dir=tmp_path, **settings))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
        (429, RateLimited),
        (401, AuthError),
        (403, AuthError),
        (404, ResponseError),
        (422, ResponseError),
    ],
)
async def test_statuses_map_to_user_safe_errors(
    tmp_path: Path, upstream: Upstream, code: int, error: type[Exception]
) -> None:
    async with client(tmp_path) as http:
        with pytest.raises(error) as caught:
            await http.json("GET", f"{upstream.url}/status/{code}", provider="Demo")
    assert str(caught.value).startswith(("is ", "rejected", "refused"))
    assert "nope" not in str(caught.value)  # the upstream's body is never shown to users
    if code == 429:
        assert isinstance(caught.value, RateLimited) and caught.value.retry_after == 12


async def test_unreadable_json_unreachable_host_and_slow_reads(
    tmp_path: Path, upstream: Upstream
) -> None:
    async with client(tmp_path, read_timeout=0.2) as http:
        assert await http.json("GET", f"{upstream.url}/json", provider="Demo") == {"ok": True}
        with pytest.raises(ResponseError, match="could not read"):
            await http.json("GET", f"{upstream.url}/broken", provider="Demo")
        with pytest.raises(ProviderUnavailable) as caught:
            await http.read("http://127.0.0.1:9/", provider="Demo")
        assert caught.value.user_message == "Demo: cannot be reached right now"
        with pytest.raises(ProviderTimeout):
            await http.read(f"{upstream.url}/slow", provider="Demo")


async def test_one_pool_serves_many_requests(tmp_path: Path, upstream: Upstream) -> None:
    async with client(tmp_path) as http:
        for _ in range(10):
            await http.json("GET", f"{upstream.url}/json", provider="Demo")
    assert upstream.connections == 1


async def test_proxy_setting_routes_provider_traffic(tmp_path: Path, upstream: Upstream) -> None:
    async with ForwardProxy() as proxy, client(tmp_path, proxy=proxy.url) as http:
        assert await http.json("GET", f"{upstream.url}/json", provider="Demo") == {"ok": True}
        assert proxy.forwarded == [f"{upstream.url}/json"]  # type: ignore[attr-defined]
