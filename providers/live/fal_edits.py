"""fal edit apps: which input field takes the pictures, one or a list, and what else each takes.

The pictures go in the app's input JSON as data URIs (``data:image/png;base64,...``), in the
field the operator named (``image_field``), else the field of an app we know, else
``image_url``. Whether that field takes a list: the operator's ``image_list`` when set, else
what we know of the app, else the field's name (a plural such as ``image_urls`` is a list).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from providers.core.entry import EditModel
from providers.core.media import is_plural, picture_data_url
from providers.core.types import ImageOptions, ImageRequest, Media, PictureLimits

DEFAULT_FIELD = "image_url"
"""The input field of an edit app whose field nobody named."""

MAX_LIST_PICTURES = 10
"""Pictures sent to a list field of an app we know nothing more about."""

MIN_STRENGTH = 0.01
"""fal's image-to-image apps refuse a strength of 0; anything below goes up as this."""

KONTEXT_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")
"""The ``aspect_ratio`` values FLUX.1 Kontext apps take (unset: the input picture's shape)."""

RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9", "9:21")
"""Ratios sent as fal's ``image_size`` to apps we know no better way for."""

PICTURES = PictureLimits(max_side=2048, max_bytes=5 * 1024 * 1024)
"""What goes up inline: data URIs ride in the request's JSON, so each picture is kept small."""


@dataclass(frozen=True)
class EditApp:
    """How one fal edit app takes a request: ``options`` (what a user may ask), the picture
    ``field`` and whether it is a list, how an aspect ratio is sent (``aspect_ratio`` as
    ``W:H``, or fal's ``image_size``), and whether a strength is sent as ``strength``."""

    options: ImageOptions
    field: str = DEFAULT_FIELD
    is_list: bool = False
    ratio_field: str = "image_size"


def _kontext(*, field: str = DEFAULT_FIELD, pictures: int = 1) -> EditApp:
    options = ImageOptions(
        max_images=4,
        cfg=(1, 20),
        aspect_ratios=KONTEXT_RATIOS,
        negative_prompt=False,
        min_pictures=1,
        max_pictures=pictures,
        pictures=PICTURES,
    )
    return EditApp(options, field=field, is_list=pictures > 1, ratio_field="aspect_ratio")


KNOWN_APPS: dict[str, EditApp] = {
    "fal-ai/flux-pro/kontext": _kontext(),
    "fal-ai/flux-pro/kontext/max": _kontext(),
    "fal-ai/flux-pro/kontext/multi": _kontext(field="image_urls", pictures=4),
    "fal-ai/flux-pro/kontext/max/multi": _kontext(field="image_urls", pictures=4),
    "fal-ai/flux/dev/image-to-image": EditApp(
        ImageOptions(
            max_images=4,
            steps=(10, 50),
            cfg=(1, 20),
            aspect_ratios=RATIOS,
            negative_prompt=False,
            min_pictures=1,
            max_pictures=1,
            strength=True,
            pictures=PICTURES,
        )
    ),
}
"""The edit apps whose inputs fal publishes and we checked; other apps get :func:`any_app`."""


def any_app(field: str, is_list: bool) -> EditApp:
    """An edit app we know nothing about: the pictures, a size and a seed are all we send."""
    options = ImageOptions(
        aspect_ratios=RATIOS,
        negative_prompt=False,
        min_pictures=1,
        max_pictures=MAX_LIST_PICTURES if is_list else 1,
        pictures=PICTURES,
    )
    return EditApp(options, field=field, is_list=is_list)


def edit_app(model: EditModel) -> EditApp:
    """What the configured edit model takes: the app we know, with the operator's field and
    list setting laid over it, or :func:`any_app`."""
    known = KNOWN_APPS.get(model.upstream.strip("/"))
    field = model.image_field or (known.field if known else DEFAULT_FIELD)
    if known is not None and field == known.field and model.image_list in (None, known.is_list):
        return known
    is_list = model.image_list if model.image_list is not None else is_plural(field)
    if known is None:
        return any_app(field, is_list)
    most = known.options.max_pictures if known.is_list else MAX_LIST_PICTURES
    options = dataclasses.replace(known.options, max_pictures=most if is_list else 1)
    return dataclasses.replace(known, options=options, field=field, is_list=is_list)


def pictures_value(app: EditApp, images: Sequence[Media]) -> str | list[str]:
    """The picture field's value: a list of data URIs, or the one picture's."""
    uris = [picture_data_url(media) for media in images]
    return uris if app.is_list else uris[0]


def edit_input(app: EditApp, request: ImageRequest, base: dict[str, Any]) -> dict[str, Any]:
    """The input JSON of an edit: ``base`` (the prompt and the values every app reads, as for
    images) with the pictures, the strength and the aspect ratio in the app's own fields."""
    body = dict(base)
    body[app.field] = pictures_value(app, request.images)
    if request.aspect_ratio and app.ratio_field == "aspect_ratio":
        body.pop("image_size", None)
        body["aspect_ratio"] = request.aspect_ratio
    if request.strength is not None:
        body["strength"] = max(MIN_STRENGTH, request.strength)
    return body
