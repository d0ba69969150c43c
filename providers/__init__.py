"""Image and vision back-ends as async generators. Nothing here knows about Telegram."""

from __future__ import annotations

from functools import cache

from providers.core.errors import (
    Adjustment,
    AdjustmentCode,
    AuthError,
    ErrorCode,
    InvalidOption,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Refused,
    ResponseError,
    UnknownModel,
)
from providers.core.provider import (
    ImageSeed,
    Kind,
    ModelSpec,
    Provider,
    ProviderContext,
    Seed,
    VisionSeed,
)
from providers.core.settings import ProviderSettings
from providers.core.types import (
    Event,
    EventStream,
    ImageOptions,
    ImagePreview,
    ImageRequest,
    ImageResponse,
    Media,
    PictureLimits,
    Progress,
    Stage,
    Switched,
    TextDelta,
    TextResponse,
)
from providers.routing.api import ask_vision, generate_images, validate_request
from providers.routing.registry import ModelEntry, Registry


@cache
def default_registry() -> Registry:
    """The registry of the four built-in providers (the bot and the CLI use
    :func:`providers.config.build_registry`, which adds the configured ones)."""
    from providers.routing.config import seed_providers

    return Registry(seed_providers())


__all__ = [
    "Adjustment",
    "AdjustmentCode",
    "AuthError",
    "ErrorCode",
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
    "PictureLimits",
    "Progress",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "ProviderSettings",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimited",
    "Refused",
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
