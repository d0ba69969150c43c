"""Fetching result pictures from the URLs a provider hands back, without trusting them.

Only http(s); no loopback, private, link-local or otherwise internal address unless
ALLOW_PRIVATE_URLS is set; a few redirects at most, each checked again; a size cap; a total
deadline. Failures are ProviderErrors naming the provider, so the user reads what happened.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import aiohttp

from providers import ErrorCode, ProviderError, ProviderTimeout, ProviderUnavailable, ResponseError
from providers.core.http import raise_for_status

MAX_BYTES = 40 * 1024 * 1024
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024


def is_internal(address: str) -> bool:
    """Loopback, private, link-local, multicast, reserved or unspecified (IPv4-mapped too)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def check_url(url: str, *, provider: str, allow_private: bool, proxied: bool) -> None:
    """Raises ResponseError unless ``url`` is http(s) on a public address (or private ones are
    allowed). A name is resolved and every address it has is checked; behind a proxy, a name
    this machine cannot resolve is left to the proxy."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ResponseError(ErrorCode.ADDRESS_REFUSED, provider=provider)
    if allow_private:
        return
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            )
        except OSError:
            if proxied:
                return
            raise ProviderUnavailable(ErrorCode.ADDRESS_UNREACHABLE, provider=provider) from None
        addresses = [str(info[4][0]) for info in infos]
    if any(is_internal(address) for address in addresses):
        raise ResponseError(ErrorCode.ADDRESS_PRIVATE, provider=provider)


async def fetch_bytes(
    session: aiohttp.ClientSession,
    url: str,
    *,
    provider: str,
    allow_private: bool,
    deadline: float,
    proxied: bool = False,
) -> bytes:
    """The body at ``url`` (at most MAX_BYTES), finished before ``deadline`` (loop time)."""
    try:
        async with asyncio.timeout_at(deadline):
            for _ in range(MAX_REDIRECTS + 1):
                await check_url(
                    url, provider=provider, allow_private=allow_private, proxied=proxied
                )
                async with session.get(url, allow_redirects=False) as response:
                    if response.status in REDIRECTS and "Location" in response.headers:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    await raise_for_status(response, provider)
                    return await _capped_body(response, provider)
            raise ResponseError(ErrorCode.TOO_MANY_REDIRECTS, provider=provider)
    except ProviderError:
        raise
    except TimeoutError as exc:
        raise ProviderTimeout(ErrorCode.SLOW_PICTURE, provider=provider) from exc
    except aiohttp.ClientError as exc:
        raise ProviderUnavailable(ErrorCode.UNREACHABLE, provider=provider) from exc


async def _capped_body(response: aiohttp.ClientResponse, provider: str) -> bytes:
    too_big = ResponseError(
        ErrorCode.PICTURE_TOO_BIG, provider=provider, mb=MAX_BYTES // (1024 * 1024)
    )
    if response.content_length is not None and response.content_length > MAX_BYTES:
        raise too_big
    body = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK):
        body += chunk
        if len(body) > MAX_BYTES:
            raise too_big
    return bytes(body)
