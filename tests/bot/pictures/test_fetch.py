"""Which result addresses the bot fetches."""

from __future__ import annotations

import pytest

from bot.pictures.fetch import check_url, is_internal
from providers import ResponseError


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.5",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "fc00::1",
    ],
)
def test_internal_addresses(address: str) -> None:
    assert is_internal(address)


@pytest.mark.parametrize("address", ["1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"])
def test_public_addresses(address: str) -> None:
    assert not is_internal(address)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "data:image/png;base64,AAAA",
        "http://127.0.0.1:8080/a.png",
        "http://[::1]/a.png",
        "http://169.254.169.254/latest",
    ],
)
async def test_refused_urls(url: str) -> None:
    with pytest.raises(ResponseError):
        await check_url(url, provider="X", allow_private=False, proxied=False)


async def test_private_urls_when_allowed_but_never_other_schemes() -> None:
    await check_url("http://127.0.0.1:8080/a.png", provider="X", allow_private=True, proxied=False)
    with pytest.raises(ResponseError):
        await check_url("file:///etc/passwd", provider="X", allow_private=True, proxied=False)
