"""Image and vision back-ends as async generators. Nothing here knows about Telegram."""

from __future__ import annotations

from functools import cache

from .api import ask_vision, generate_images, validate_request
from .base import ImageSeed, Kind, ModelSpec, Provider, ProviderContext, Seed, VisionSeed
from .errors import (
    AuthError,
    InvalidOption,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    UnknownModel,
)
from .registry import ModelEntry, Registry
from .settings import ProviderSettings
from .types import (
    Event,
    EventStream,
    ImageOptions,
    ImagePreview,
    ImageRequest,
    ImageResponse,
    Media,
    Progress,
    Stage,
    Switched,
    TextDelta,
    TextResponse,
)


@cache
def default_registry() -> Registry:
    """The registry of the four built-in providers (the bot and the CLI use
    :func:`providers.config.build_registry`, which adds the configured ones)."""
    from .config import seed_providers

    return Registry(seed_providers())


__all__ = [
    "AuthError",
    "Event",
    "EventStream",
    "ImageOptions",
    "ImagePreview",
    "ImageRequest",
    "ImageResponse",
    "ImageSeed",
    "InvalidOption",
    "Kind",
    "Media",
    "ModelEntry",
    "ModelSpec",
    "Progress",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "ProviderSettings",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimited",
    "Registry",
    "ResponseError",
    "Seed",
    "Stage",
    "Switched",
    "TextDelta",
    "TextResponse",
    "UnknownModel",
    "VisionSeed",
    "ask_vision",
    "default_registry",
    "generate_images",
    "validate_request",
]
