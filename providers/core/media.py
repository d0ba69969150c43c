"""Image type detection from magic bytes, for uploads to vision models and for delivery."""

from __future__ import annotations

import base64

from providers.core.types import Media

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
GIF = "image/gif"

EXTENSIONS: dict[str, str] = {JPEG: ".jpg", PNG: ".png", WEBP: ".webp", GIF: ".gif"}


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, WebP or GIF image, or ``None`` for anything else.

    Only the first bytes are looked at; a truncated file of a known type is still recognised.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    return None


def image_extension(content_type: str | None, default: str = ".bin") -> str:
    """The file extension (with its dot) for an image MIME type, ``default`` when unknown.

    Parameters such as ``; charset=...`` and letter case are ignored.
    """
    if not content_type:
        return default
    essence = content_type.split(";", 1)[0].strip().lower()
    if essence == "image/jpg":
        essence = JPEG
    return EXTENSIONS.get(essence, default)


def image_filename(data: bytes, stem: str = "image") -> str:
    """``stem`` plus the extension of the sniffed type, e.g. ``image.png``; ``.bin`` if unknown."""
    return stem + image_extension(sniff_image_type(data))


def picture_type(media: Media) -> str:
    """A picture's MIME type: its content type, else its sniffed type, else PNG."""
    return media.content_type or sniff_image_type(media.data) or PNG


def picture_data_url(media: Media) -> str:
    """A picture as a ``data:<type>;base64,...`` URL (how fal and Replicate take pictures)."""
    return f"data:{picture_type(media)};base64,{base64.b64encode(media.data).decode('ascii')}"


def is_plural(field: str) -> bool:
    """Whether an input field's name reads as a list (``images``, ``image_urls``; not
    ``image_url``): how a field of an unknown model is taken when nothing else says."""
    last = field.lower().rsplit("_", 1)[-1]
    return last.endswith("s") and not last.endswith("ss")
