"""The one surface every back-end offers, and the seeds' class-attribute style built on it.

A :class:`Provider` is a configured back-end instance: its ``name`` prefixes its model ids,
:meth:`Provider.offers` lists its models with what each accepts, and two typed entry points
run a job. The four seed providers (ARTA, Prodia, SD 3.5, Dynaspark) keep the seeds' async
generator ``create_async_generator(model, messages, **kwargs)`` as their documented interface;
:class:`Seed` turns such a class into a Provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from providers.core.errors import ErrorCode, InvalidOption, UnknownModel
from providers.core.http import HttpClient
from providers.core.polling import Pacer
from providers.core.settings import ProviderSettings
from providers.core.slots import API_SLOTS, Slots
from providers.core.types import EventStream, ImageOptions, ImageRequest, Media, Message, Messages


class Kind(StrEnum):
    """What a model does."""

    IMAGE = "image"
    VISION = "vision"
    EDIT = "edit"
    """Changes, restyles or combines the pictures a request brings (ImageRequest.images)."""


@dataclass
class ProviderContext:
    """What a running provider needs from its host: settings (endpoints, data dir) and the pool."""

    settings: ProviderSettings
    http: HttpClient
    stopping: bool = False
    """The host is stopping and will follow its jobs again when it is back: a stream closed now
    leaves its upstream job running (a cancel by the user still cancels it upstream)."""

    @classmethod
    def from_settings(cls, settings: ProviderSettings | None = None) -> ProviderContext:
        """A context with its own connection pool; close it with :meth:`close`."""
        settings = settings or ProviderSettings()
        return cls(settings=settings, http=HttpClient(settings))

    async def close(self) -> None:
        await self.http.close()


@dataclass(frozen=True)
class ModelSpec:
    """One model a provider offers: its alias (the id after ``<provider>/``), the upstream's
    own name for it, its kind, and for image models what a request may ask of it."""

    alias: str
    upstream: str
    kind: Kind
    options: ImageOptions | None = None


class Provider:
    """A back-end: the models it offers and the two typed entry points that run a job."""

    name: str
    """Lower-case id prefix: model ids are ``<name>/<alias>``."""
    label: str
    """How users see the provider named ("ARTA", "fal")."""
    max_concurrency: int = API_SLOTS
    """How many of its jobs run at once (an entry's ``max_concurrency`` changes it)."""
    cost: int | None = None
    """Credits a picture of any of its models costs, from the entry's ``cost`` (None: not set;
    a MODEL_COSTS pattern that matches a model wins)."""
    max_daily_cost: int | None = None
    """Credits all users together may spend on it per UTC day (None: no limit)."""
    typical_seconds: ClassVar[float | None] = None
    """How long a job typically takes from submission to a finished status, as declared: its
    :attr:`pacer` starts from it when nothing was learned (None: nothing declared)."""
    typical_seconds_by_model: ClassVar[dict[str, float]] = {}
    """:attr:`typical_seconds` of particular models, by their upstream names."""

    @property
    def slots(self) -> Slots:
        """This provider's own :class:`Slots`, made on first use."""
        found = self.__dict__.get("_slots")
        if not isinstance(found, Slots):
            found = self.__dict__["_slots"] = Slots(self.max_concurrency)
        return found

    @property
    def pacer(self) -> Pacer:
        """This provider's own :class:`Pacer` (how long its jobs take), made on first use."""
        found = self.__dict__.get("_pacer")
        if not isinstance(found, Pacer):
            found = self.__dict__["_pacer"] = Pacer(
                typical=self.typical_seconds, typical_by_model=self.typical_seconds_by_model
            )
        return found

    def offers(self) -> Sequence[ModelSpec]:
        """Every model, in the order menus show them."""
        raise NotImplementedError

    def default_upstream(self, kind: Kind) -> str | None:
        """The upstream name of the model of ``kind`` a fallback picks: the first offered."""
        return next((spec.upstream for spec in self.offers() if spec.kind == kind), None)

    def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """Events of one image job: progress, previews, then one ImageResponse.

        ``request`` has been checked against the model's options. For an edit model it brings
        its pictures (``request.images``), already fitted to the model's ``PictureLimits``.
        Closing the stream early (a cancel) also cancels the job upstream where the upstream
        allows it, unless the host is stopping (``context.stopping``).
        """
        raise InvalidOption(ErrorCode.DOES_NOT_DRAW, name=self.label)

    def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        """Events of one question: perhaps progress and TextDelta pieces, then a TextResponse."""
        raise InvalidOption(ErrorCode.DOES_NOT_ASK, name=self.label)

    def resume(
        self, upstream: str, job: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream | None:
        """Events of an image job submitted before a restart, followed from ``job`` (a
        Progress's ``resume`` or ``job_id``) without submitting it again; None when the
        upstream cannot be followed that way (a stream, a synchronous API)."""
        return None


class Seed(Provider):
    """A seed provider: class attributes as in the seeds, one ``create_async_generator``.

    ``model_aliases`` maps our short alias to the upstream's own model name; ``models``
    lists the upstream names. Instances carry no state: ``Seed`` subclasses are used as
    ``ARTA()``, or handed to the Registry as classes.
    """

    kind: ClassVar[Kind]
    url: ClassVar[str]
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

    def default_upstream(self, kind: Kind) -> str | None:
        return self.default_model if kind == self.kind else None

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


class ImageSeed(Seed):
    """A seed text-to-image provider; ``options`` says what a request may ask of every model."""

    kind = Kind.IMAGE
    default_image_model: ClassVar[str]
    image_models: ClassVar[list[str]] = []
    options: ClassVar[ImageOptions] = ImageOptions()

    def offers(self) -> list[ModelSpec]:
        return [ModelSpec(a, u, Kind.IMAGE, self.options) for a, u in self.catalog()]

    def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """The seed generator, called with the parameters :meth:`image_kwargs` maps to."""
        messages: list[Message] = [{"role": "user", "content": request.prompt}]
        kwargs = self.image_kwargs(request)
        if "prompt" in kwargs:
            messages = []  # the seed takes the prompt as a parameter: send it once
        return self.create_async_generator(upstream, messages, context=context, **kwargs)

    @classmethod
    def image_kwargs(cls, request: ImageRequest) -> dict[str, Any]:
        """Maps a provider-neutral request onto this seed's generator parameters."""
        raise NotImplementedError


class VisionSeed(Seed):
    """A seed provider that answers questions about an image."""

    kind = Kind.VISION
    default_vision_model: ClassVar[str]
    vision_models: ClassVar[list[str]] = []

    def offers(self) -> list[ModelSpec]:
        return [ModelSpec(a, u, Kind.VISION) for a, u in self.catalog()]

    def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        """The seed generator with the question as the one user message and the images."""
        messages: list[Message] = [{"role": "user", "content": question}]
        return self.create_async_generator(upstream, messages, context=context, media=list(media))
