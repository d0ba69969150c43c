"""Shared test helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp import ClientResponse

from providers import ProviderContext, ProviderSettings


@asynccontextmanager
async def provider_context(data_dir: Path, **overrides: Any) -> AsyncIterator[ProviderContext]:
    """A ProviderContext aimed at loopback fakes (their URLs as overrides), closed after use."""
    settings = ProviderSettings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        poll_interval=overrides.pop("poll_interval", 0.01),
        **overrides,
    )
    context = ProviderContext.from_settings(settings)
    try:
        yield context
    finally:
        await context.close()


class MockResponse(ClientResponse):
    """Pass as ``response_class=`` to aioresponses: 0.7.9 omits aiohttp 3.14's ``stream_writer``
    argument (pnuckowski/aioresponses#289); a finished upload only needs its ``output_size``."""

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)
