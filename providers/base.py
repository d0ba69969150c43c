"""The surface all back-ends share (the seeds' AsyncGeneratorProvider and ProviderModelMixin)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from .errors import UnknownModel
from .http import HttpClient
from .settings import ProviderSettings
from .types import EventStream, ImageOptions, ImageRequest, Media, Messages


class Kind(StrEnum):
    """What a model does."""

    IMAGE = "image"
    VISION = "vision"


@dataclass
class ProviderContext:
    """What a running provider needs from its host: settings (endpoints, data dir) and the pool."""

    settings: ProviderSettings
    http: HttpClient

    @classmethod
    def from_settings(cls, settings: ProviderSettings | None = None) -> ProviderContext:
        """A context with its own connection pool; close it with :meth:`close`."""
        settings = settings or ProviderSettings()
        return cls(settings=settings, http=HttpClient(settings))

    async def close(self) -> None:
        await self.http.close()


class Provider:
    """A back-end. Subclasses declare the seed's class attributes and one async generator.

    ``model_aliases`` maps our short alias to the upstream's own model name;
    ``models`` lists the upstream names.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    kind: ClassVar[Kind]
    url: ClassVar[str]
    working: ClassVar[bool] = True
    default_model: ClassVar[str]
    model_aliases: ClassVar[dict[str, str]] = {}
    models: ClassVar[list[str]] = []

    @classmethod
    def get_model(cls, model: str) -> str:
        """The upstream model name for a model name or alias; empty means the default.

        Unlike the seeds, an unknown name raises :class:`UnknownModel` instead of
        silently falling back to the default.
        """
        if not model:
            return cls.default_model
        if model in cls.models:
            return model
        if model in cls.model_aliases:
            return cls.model_aliases[model]
        lowered = model.lower()
        for name in cls.models:
            if name.lower() == lowered:
                return name
        for alias, target in cls.model_aliases.items():
            if alias.lower() == lowered:
                return target
        raise UnknownModel(model, [])

    @classmethod
    def catalog(cls) -> list[tuple[str, str]]:
        """(alias, upstream name) pairs the registry publishes as ``<name>/<alias>``."""
        pairs = [(alias.lower(), target) for alias, target in cls.model_aliases.items()]
        aliased = {target for _, target in pairs}
        pairs += [(m.lower(), m) for m in cls.models if m not in aliased]
        return pairs

    @classmethod
    def create_async_generator(
        cls, model: str, messages: Messages, *, context: ProviderContext, **kwargs: Any
    ) -> EventStream:
        raise NotImplementedError


class ImageProvider(Provider):
    """A text-to-image back-end; ``options`` says what the user may tune."""

    kind = Kind.IMAGE
    default_image_model: ClassVar[str]
    image_models: ClassVar[list[str]] = []
    options: ClassVar[ImageOptions] = ImageOptions()

    @classmethod
    def image_kwargs(cls, request: ImageRequest) -> dict[str, Any]:
        """Maps a provider-neutral request onto this provider's generator parameters."""
        raise NotImplementedError


class VisionProvider(Provider):
    """A back-end that answers questions about an image."""

    kind = Kind.VISION
    default_vision_model: ClassVar[str]
    vision_models: ClassVar[list[str]] = []

    @classmethod
    def vision_kwargs(cls, media: Sequence[Media]) -> dict[str, Any]:
        """The generator parameters that carry the images."""
        return {"media": list(media)}
