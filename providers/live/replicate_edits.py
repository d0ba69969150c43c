"""Replicate edit models: which input field takes the pictures, one or a list, and a strength.

The pictures go in the model's input as data URLs, in the field the operator named
(``image_field``), else the field of a model we know, else ``input_image``. Whether that field
takes a list: the operator's ``image_list`` when set; else what we know of the model; else its
published input schema (:class:`InputSchema`, from ``GET {base}/models/{owner}/{name}``);
else the field's name (a plural such as ``images`` is a list). The schema also says whether the
model has a strength field (``strength`` or ``prompt_strength``) for ``--strength``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from providers.core.entry import EditModel
from providers.core.errors import ErrorCode, InvalidOption, ProviderError
from providers.core.http import require
from providers.core.media import image_extension, is_plural, picture_data_url, picture_type
from providers.core.provider import ProviderContext
from providers.core.types import ImageOptions, ImageRequest, Media, PictureLimits

log = logging.getLogger(__name__)

DEFAULT_FIELD = "input_image"
"""The input field of an edit model whose field nobody named."""

MAX_LIST_PICTURES = 10
"""Pictures a list field of a model we know nothing more about is sent."""

DATA_URL_LIMIT = 1_000_000
"""Replicate takes data URLs up to about 1 MB; a picture whose data URL is longer goes up
through the files API and the model gets the file's URL instead."""

SCHEMA_RETRY_SECONDS = 600.0
"""How long a model whose schema could not be fetched goes by its field's name before the
schema is asked for again (a schema that was read is kept for the life of the process)."""

STRENGTH_FIELDS = ("strength", "prompt_strength")
"""Input fields a model's ``--strength`` goes in, in the order they are looked for."""

KONTEXT_RATIOS = (
    "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21", "2:1", "1:2"
)  # fmt: skip
"""The ``aspect_ratio`` values FLUX.1 Kontext takes on Replicate (unset: the input's shape)."""

RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
"""Ratios an edit model we know nothing about is sent as ``aspect_ratio``."""

PICTURES = PictureLimits()
"""Pictures up to 10 MB: larger than a data URL carries, they go up through the files API."""


@dataclass(frozen=True)
class KnownModel:
    """An edit model whose input we checked: ``options``, the picture ``field``, whether it
    is a list, and the field a strength goes in (None: it takes none)."""

    options: ImageOptions
    field: str = DEFAULT_FIELD
    is_list: bool = False
    strength_field: str | None = None


def _kontext(
    *, steps: tuple[int, int] | None = None, cfg: tuple[float, float] | None = None
) -> KnownModel:
    options = ImageOptions(
        steps=steps,
        cfg=cfg,
        aspect_ratios=KONTEXT_RATIOS,
        negative_prompt=False,
        min_pictures=1,
        max_pictures=1,
        pictures=PICTURES,
    )
    return KnownModel(options)


KNOWN_MODELS: dict[str, KnownModel] = {
    "black-forest-labs/flux-kontext-pro": _kontext(),
    "black-forest-labs/flux-kontext-max": _kontext(),
    "black-forest-labs/flux-kontext-dev": _kontext(steps=(4, 50), cfg=(0, 10)),
    "black-forest-labs/flux-dev": KnownModel(
        ImageOptions(
            max_images=4,
            steps=(1, 50),
            cfg=(0, 10),
            aspect_ratios=RATIOS,
            negative_prompt=False,
            min_pictures=1,
            max_pictures=1,
            strength=True,
            pictures=PICTURES,
        ),
        field="image",
        strength_field="prompt_strength",
    ),
}
"""The edit models whose inputs Replicate publishes and we checked (keyed without a version)."""


@dataclass(frozen=True)
class InputSchema:
    """What a model's published input schema says of the fields an edit fills."""

    properties: dict[str, Any]

    @classmethod
    def from_model(cls, answer: Any) -> InputSchema | None:
        """The schema in a models answer (``latest_version.openapi_schema``) or a versions
        answer (``openapi_schema``); None when it has none we can read."""
        if not isinstance(answer, dict):
            return None
        version = answer.get("latest_version", answer)
        schema = version.get("openapi_schema") if isinstance(version, dict) else None
        properties = _dig(schema, "components", "schemas", "Input", "properties")
        return cls(properties) if isinstance(properties, dict) else None

    def is_list(self, field: str) -> bool | None:
        """Whether ``field`` takes an array (None: the schema has no such field)."""
        found = self.properties.get(field)
        if not isinstance(found, dict):
            return None
        return found.get("type") == "array"

    @property
    def strength_field(self) -> str | None:
        """The field a strength goes in, if the model has one."""
        return next((name for name in STRENGTH_FIELDS if name in self.properties), None)


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


@dataclass(frozen=True)
class EditShape:
    """How a configured edit model takes its pictures, as far as the configuration and what
    we know of the model tell: the ``field``, whether it is a list (None: the schema or the
    name decides), and the model we know, if it is one (None: its schema tells the rest)."""

    field: str
    is_list: bool | None
    known: KnownModel | None

    @property
    def settled(self) -> bool:
        """Whether the schema has nothing left to say about the pictures."""
        return self.is_list is not None


def edit_shape(model: EditModel) -> EditShape:
    """The configured edit model's field and list setting, with what we know of it."""
    known = KNOWN_MODELS.get(model.upstream.split(":", 1)[0].strip("/"))
    field = model.image_field or (known.field if known else DEFAULT_FIELD)
    if known is not None and field != known.field:
        known = None
    is_list = model.image_list
    if is_list is None and known is not None:
        is_list = known.is_list
    return EditShape(field, is_list, known)


def edit_options(model: EditModel) -> ImageOptions:
    """What a request to the configured edit model may ask for.

    A model we know says it all. For any other, the pictures a list field may take are
    offered, and a strength: its schema, read when the job runs, decides whether the field
    is a list and whether a strength field exists, and a request they do not fit is refused
    then, before the prediction is created.
    """
    shape = edit_shape(model)
    if shape.known is not None:
        options = shape.known.options
        if shape.is_list == shape.known.is_list:
            return options
        most = MAX_LIST_PICTURES if shape.is_list else 1
        return dataclasses.replace(options, max_pictures=most)
    return ImageOptions(
        aspect_ratios=RATIOS,
        negative_prompt=False,
        min_pictures=1,
        max_pictures=1 if shape.is_list is False else MAX_LIST_PICTURES,
        strength=True,
        pictures=PICTURES,
    )


class EditInputs:
    """Fills an edit's pictures and strength into a prediction's input, for one account:
    reads each model's schema when it has to (once per model, kept) and sends pictures too
    large for a data URL through the files API."""

    def __init__(self, base: str, label: str, headers: Callable[[], dict[str, str]]) -> None:
        self.base = base
        self.label = label
        self._headers = headers
        self._schemas: dict[str, InputSchema] = {}
        self._unreadable: dict[str, float] = {}
        """When a model's schema last could not be fetched (monotonic seconds)."""

    async def fill(
        self,
        body: dict[str, Any],
        model: EditModel,
        model_id: str,
        request: ImageRequest,
        context: ProviderContext,
    ) -> dict[str, Any]:
        """``body`` (a prediction's input) with the request's pictures and strength added.

        Raises InvalidOption, before any picture is sent, when the schema shows the model takes
        one picture and the request brings more, or has no strength field for a strength;
        the HTTP layer's errors when an upload fails.
        """
        shape = edit_shape(model)
        schema = None
        if not shape.settled or (request.strength is not None and shape.known is None):
            schema = await self.schema(model.upstream, context)
        is_list = shape.is_list
        if is_list is None:
            from_schema = schema.is_list(shape.field) if schema is not None else None
            is_list = from_schema if from_schema is not None else is_plural(shape.field)
        if not is_list and len(request.images) > 1:
            raise InvalidOption(ErrorCode.ONE_PICTURE, model=model_id)
        strength_field = _strength_field(shape, schema)
        if request.strength is not None and strength_field is None:
            raise InvalidOption(ErrorCode.NO_STRENGTH, model=model_id)
        values = [await self.picture(media, context) for media in request.images]
        filled = {**body, shape.field: values if is_list else values[0]}
        if request.strength is not None and strength_field is not None:
            filled[strength_field] = request.strength
        return filled

    async def schema(self, model: str, context: ProviderContext) -> InputSchema | None:
        """The model's published input schema (``owner/name``, or ``owner/name:version``),
        fetched on first use and kept; None when it cannot be had."""
        if model in self._schemas:
            return self._schemas[model]
        failed = self._unreadable.get(model)
        if failed is not None and time.monotonic() - failed < SCHEMA_RETRY_SECONDS:
            return None
        name, _, version = model.partition(":")
        url = f"{self.base}/models/{name.strip('/')}"
        if version:
            url += f"/versions/{version}"
        try:
            answer = await context.http.json(
                "GET", url, provider=self.label, headers=self._headers()
            )
        except ProviderError as error:
            log.warning("%s: no input schema for %s: %s", self.label, model, error)
            answer = None
        schema = InputSchema.from_model(answer)
        if schema is None:
            self._unreadable[model] = time.monotonic()
            return None
        self._schemas[model] = schema
        return schema

    async def picture(self, media: Media, context: ProviderContext) -> str:
        """The value a model's picture field gets: the picture's data URL, or for one too
        large for that, the URL of the picture uploaded through the files API."""
        url = picture_data_url(media)
        if len(url) <= DATA_URL_LIMIT:
            return url
        kind = picture_type(media)
        form = aiohttp.FormData()
        filename = media.filename or "image" + image_extension(kind, ".png")
        form.add_field("content", media.data, filename=filename, content_type=kind)
        answer = await context.http.json(
            "POST", f"{self.base}/files", provider=self.label, data=form, headers=self._headers()
        )
        urls = require(answer, "urls", self.label)
        return str(require(urls, "get", self.label))


def _strength_field(shape: EditShape, schema: InputSchema | None) -> str | None:
    if shape.known is not None:
        return shape.known.strength_field
    return schema.strength_field if schema is not None else None
