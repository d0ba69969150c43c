"""Edits through an OpenAI-style images API: ``POST {base}/images/edits`` as
``multipart/form-data`` with ``model``, ``prompt``, one ``image[]`` part per picture (dall-e-2:
one square PNG as ``image``), and optionally ``n``, ``size`` and ``response_format``. The answer
reads like a generation's (``data[].b64_json`` or ``data[].url``).

Any type whose edits speak this form (``pollinations``) can build it with :func:`edit_form`.
"""

from __future__ import annotations

import asyncio
import io

import aiohttp
from PIL import Image, UnidentifiedImageError

from providers.core.errors import ErrorCode, InvalidOption
from providers.core.media import EXTENSIONS, JPEG, PNG, WEBP, sniff_image_type
from providers.core.types import ImageRequest, Media, PictureLimits

MAX_EDIT_PICTURES = 16
"""Pictures one edit takes (OpenAI's GPT image models: up to 16)."""

GPT_IMAGE_PICTURES = PictureLimits(types=(PNG, JPEG, WEBP), max_bytes=49_000_000)
"""GPT image models read PNG, JPEG and WebP files of less than 50 MB each."""
DALL_E_2_PICTURES = PictureLimits(types=(PNG,), max_side=1024, max_bytes=3_900_000)
"""dall-e-2 edits one square PNG of less than 4 MB (its transparent areas are what it redraws)."""
DALL_E_2_MODES = ("RGBA", "LA", "L")
OTHER_PICTURES = PictureLimits(types=(PNG, JPEG, WEBP))
"""What an OpenAI-compatible server's own edit models are sent."""


def _name(upstream: str) -> str:
    return upstream.lower().rsplit("/", 1)[-1]


def takes_one_picture(upstream: str) -> bool:
    """Whether the model edits a single picture, sent as ``image`` (dall-e-2)."""
    return _name(upstream).startswith("dall-e-2")


def max_pictures(upstream: str) -> int:
    """How many pictures one edit with the model may bring."""
    return 1 if takes_one_picture(upstream) else MAX_EDIT_PICTURES


def picture_limits(upstream: str) -> PictureLimits:
    """The types, sides and sizes of the pictures the model reads."""
    name = _name(upstream)
    if name.startswith("dall-e-2"):
        return DALL_E_2_PICTURES
    if name.startswith(("gpt-image-", "chatgpt-image")):
        return GPT_IMAGE_PICTURES
    return OTHER_PICTURES


async def edit_form(
    upstream: str,
    request: ImageRequest,
    size: str | None = None,
    response_format: str | None = None,
) -> aiohttp.FormData:
    """The ``images/edits`` form for ``request``: its pictures in order, each with a filename
    and content type; ``n`` only above 1, ``size`` and ``response_format`` only when given.
    InvalidOption when a picture is empty."""
    one = takes_one_picture(upstream)
    form = aiohttp.FormData()
    form.add_field("model", upstream)
    form.add_field("prompt", request.prompt)
    for number, picture in enumerate(request.images, start=1):
        data, content_type = await _upload(picture, square_png=one)
        filename = f"image-{number}{EXTENSIONS.get(content_type, '.png')}"
        form.add_field(
            "image" if one else "image[]", data, filename=filename, content_type=content_type
        )
    if request.n > 1:
        form.add_field("n", str(request.n))
    if size:
        form.add_field("size", size)
    if response_format:
        form.add_field("response_format", response_format)
    return form


async def _upload(picture: Media, *, square_png: bool) -> tuple[bytes, str]:
    """The bytes and content type one picture goes up with (as it came, told by its bytes;
    dall-e-2's made a square PNG)."""
    if not picture.data:
        raise InvalidOption(ErrorCode.EMPTY_IMAGE)
    content_type = sniff_image_type(picture.data) or picture.content_type or PNG
    if not square_png:
        return picture.data, content_type
    return await asyncio.to_thread(as_square_png, picture.data), PNG


def as_square_png(data: bytes) -> bytes:
    """``data`` as a square PNG with an alpha channel (dall-e-2 reads RGBA, LA or L only):
    unchanged when it already is one, else centred on a transparent square (the areas
    dall-e-2 fills in); unchanged when Pillow cannot read it (the upstream then says what is
    wrong)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            is_square = image.width == image.height
            if image.format == "PNG" and is_square and image.mode in DALL_E_2_MODES:
                return data
            side = max(image.width, image.height)
            square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
            offset = ((side - image.width) // 2, (side - image.height) // 2)
            square.paste(image.convert("RGBA"), offset)
    except (UnidentifiedImageError, OSError, ValueError):
        return data
    buffer = io.BytesIO()
    square.save(buffer, format="PNG")
    return buffer.getvalue()
