"""Shared test helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from providers import ProviderContext, ProviderSettings


@asynccontextmanager
async def provider_context(data_dir: Path, **overrides: Any) -> AsyncIterator[ProviderContext]:
    """A ProviderContext pointed at loopback fakes (pass their URLs as overrides), closed after use."""
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
