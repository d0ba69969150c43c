"""Checking that result bytes are a picture and making them Telegram-friendly (Pillow)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from providers.core.errors import ErrorCode, Param, english

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10_000
PHOTO_MAX_RATIO = 20
PHOTO_FORMATS = {"JPEG", "PNG"}
MAX_PIXELS = 50_000_000  # far above any model's output; a decompression bomb is far above it
MAX_SIDE = 30_000


class NotAPicture(Exception):
    """The bytes are not an image we will post; ``code`` and ``params`` say why (``str(error)``
    in English), for the user."""

    def __init__(self, code: ErrorCode, /, **params: Param) -> None:
        super().__init__(english(code, params))
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Picture:
    """Bytes ready to upload and whether Telegram will take them as a photo."""

    data: bytes
    filename: str
    as_photo: bool


def prepare(data: bytes, index: int) -> Picture:
    """Checks that ``data`` is an image that decodes within sane dimensions and makes it
    Telegram-friendly: PNG/JPEG as they are, others converted to PNG; too large or too oddly
    shaped for a photo -> sent as a document. Raises NotAPicture otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise NotAPicture(ErrorCode.PICTURE_TOO_LARGE_SIZE, width=width, height=height)
            image.load()  # decodes it all: truncated or garbled data fails here
            fmt = image.format or ""
            if fmt not in PHOTO_FORMATS:
                buffer = io.BytesIO()
                converted = image if image.mode in ("RGB", "RGBA", "L") else image.convert("RGBA")
                converted.save(buffer, format="PNG")
                data, fmt = buffer.getvalue(), "PNG"
    except NotAPicture:
        raise
    except Image.DecompressionBombError:
        raise NotAPicture(ErrorCode.PICTURE_TOO_LARGE) from None
    except (OSError, SyntaxError, ValueError):
        raise NotAPicture(ErrorCode.NOT_A_PICTURE) from None
    extension = "jpg" if fmt == "JPEG" else "png"
    fits = (
        len(data) <= PHOTO_MAX_BYTES
        and width + height <= PHOTO_MAX_SIDES
        and max(width, height) <= PHOTO_MAX_RATIO * min(width, height)
    )
    return Picture(data, f"image-{index + 1}.{extension}", as_photo=fits)
