"""One pooled aiohttp session for all provider traffic, with timeouts, proxy and error mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp_socks import ProxyConnector

from providers.core.errors import (
    AuthError,
    ErrorCode,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
)
from providers.core.settings import ProviderSettings

Refusal = Callable[[int, bytes], ProviderError | None]
"""Reads a failed answer (its status and body) as the upstream's own refusal, or None."""

USER_AGENT = "imagine-bot/0.1 (+aiohttp)"


class HttpClient:
    """Owns the connection pool; create one per process and close it on shutdown.

    Every request goes through :meth:`request`, which turns transport failures
    and HTTP error statuses into :mod:`providers.errors` with user-safe texts.
    """

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared session, created on first use inside the running event loop."""
        if self._session is None or self._session.closed:
            self._session = self._new_session()
        return self._session

    def _new_session(self) -> aiohttp.ClientSession:
        proxy = self.settings.proxy
        timeout = aiohttp.ClientTimeout(
            sock_connect=self.settings.connect_timeout, sock_read=self.settings.read_timeout
        )
        headers = {"User-Agent": USER_AGENT}
        # No pool-wide cap: each provider's slots bound how many of its jobs talk at once.
        if proxy and proxy.startswith("socks"):
            connector: aiohttp.BaseConnector = ProxyConnector.from_url(proxy, limit=0)
            return aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers)
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        return aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers=headers, proxy=proxy or None
        )

    async def close(self) -> None:
        """Closes the pool; the client can be used again afterwards (a new pool is made)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str,
        *,
        provider: str,
        refusal: Refusal | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Yields a response whose status is below 400, or raises a ProviderError: what
        ``refusal`` makes of a failed answer's status and body when it recognises it (an
        upstream's own way of saying its moderation refused), else the status's error."""
        try:
            async with self.session.request(method, url, **kwargs) as response:
                if response.status >= 400 and refusal is not None:
                    refused = refusal(response.status, await response.read())
                    if refused is not None:
                        raise refused
                await raise_for_status(response, provider)
                yield response
        except ProviderError:
            raise
        except TimeoutError as exc:
            raise ProviderTimeout(ErrorCode.TIMEOUT, provider=provider) from exc
        except aiohttp.ClientError as exc:
            raise ProviderUnavailable(ErrorCode.UNREACHABLE, provider=provider) from exc

    async def json(
        self,
        method: str,
        url: str,
        *,
        provider: str,
        refusal: Refusal | None = None,
        **kwargs: Any,
    ) -> Any:
        """The decoded JSON body of a successful response (see :meth:`request`)."""
        async with self.request(
            method, url, provider=provider, refusal=refusal, **kwargs
        ) as response:
            body = await response.read()
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ResponseError(ErrorCode.UNREADABLE_RESPONSE, provider=provider) from exc

    async def read(self, url: str, *, provider: str, **kwargs: Any) -> bytes:
        """The raw body of a successful GET."""
        async with self.request("GET", url, provider=provider, **kwargs) as response:
            return await response.read()


async def raise_for_status(response: aiohttp.ClientResponse, provider: str) -> None:
    """Maps an HTTP error status to the matching ProviderError."""
    status = response.status
    if status < 400:
        return
    if status == 429:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        raise RateLimited(
            ErrorCode.SLOW_DOWN,
            provider=provider,
            retry_after=retry_after,
        )
    if status == 402 or (status == 403 and await _mentions_billing(response)):
        raise RateLimited(ErrorCode.OUT_OF_CREDIT, provider=provider)
    if status in (401, 403):
        raise AuthError(ErrorCode.AUTH_REFUSED, provider=provider)
    if status >= 500:
        raise ProviderUnavailable(ErrorCode.TROUBLE_HTTP, provider=provider, status=status)
    raise ResponseError(ErrorCode.REJECTED, provider=provider, status=status)


_BILLING_WORDS = ("balance", "credit", "quota", "top up", "billing", "payment")


async def _mentions_billing(response: aiohttp.ClientResponse) -> bool:
    """Whether an error body speaks of money (fal answers 403 "Exhausted balance")."""
    try:
        text = (await response.text(errors="replace"))[:2000].lower()
    except (aiohttp.ClientError, TimeoutError):
        return False
    return any(word in text for word in _BILLING_WORDS)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def require(data: Any, key: str, provider: str) -> Any:
    """``data[key]`` from a JSON object, or a ResponseError saying the answer was incomplete."""
    if not isinstance(data, dict) or data.get(key) in (None, ""):
        raise ResponseError(ErrorCode.INCOMPLETE, provider=provider, key=key)
    return data[key]
