"""Pictures a user sends, made fit for an edit model (Pillow; no Telegram here).

``fit_picture`` takes the bytes the bot downloaded and the model's ``PictureLimits`` and gives
back a ``Media`` that the provider sends as it is: upright, the first frame of an animation, in
a type the upstream reads, within its longest side and its bytes. A file that already fits goes
through untouched; one that cannot be used raises ``UnusablePicture`` with a code the bot
translates.
"""

from __future__ import annotations

import functools
import io
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from PIL import ExifTags, Image, ImageCms, ImageOps

from bot.pictures.prepare import MAX_PIXELS, MAX_SIDE
from providers.core.types import Media, PictureLimits

DOWNLOAD_LIMIT = 20 * 1024 * 1024
"""Telegram's getFile limit: a bot cannot download a larger file at all."""
MIN_SIDE = 256
"""Below this longest side a picture is no use to an edit model: refused rather than shrunk."""
JPEG_QUALITY = 90
LOWER_QUALITIES = (80, 70)
"""Tried in turn (JPEG, WebP) when a picture is over the byte limit, before it is shrunk."""
SHRINK = 0.75
"""Each shrinking step takes at least this off the longest side (more when far over)."""
DRAFT_SLACK = 0.9
"""A JPEG may be decoded at 1/2, 1/4 or 1/8 scale (several times cheaper than decoding it whole
and resampling) when that keeps its longest side at least this share of ``max_side``."""
WHITE = (255, 255, 255)

# Pillow formats taken as pictures. Pillow reads many more, some of which take almost any bytes
# for a header; HEIF comes from pillow-heif (registered on first use), AVIF from Pillow itself.
# (A camera's MPO is opened by the JPEG reader.)
READABLE = ("JPEG", "PNG", "WEBP", "GIF", "HEIF", "AVIF", "BMP", "TIFF")
ANIMATABLE = frozenset({"GIF", "PNG", "WEBP", "AVIF"})
SOURCE_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # a camera's JPEG with extra pictures after the first: a JPEG to all
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "HEIF": "image/heif",
    "AVIF": "image/avif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/heic": "image/heif"}
# What we write: MIME type -> (Pillow format, file extension).
WRITERS = {
    "image/jpeg": ("JPEG", "jpg"),
    "image/png": ("PNG", "png"),
    "image/webp": ("WEBP", "webp"),
    "image/avif": ("AVIF", "avif"),
    "image/heif": ("HEIF", "heic"),
    "image/gif": ("GIF", "gif"),
    "image/bmp": ("BMP", "bmp"),
    "image/tiff": ("TIFF", "tif"),
}
ALPHA_TYPES = ("image/png", "image/webp", "image/avif", "image/heif", "image/tiff")
LOSSY = frozenset({"image/jpeg", "image/webp", "image/avif", "image/heif"})
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
TURNING = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, RuntimeError)


class Unusable(StrEnum):
    """Why a picture cannot go to the model; the bot words each for the user."""

    NOT_A_PICTURE = "not_a_picture"
    """Not a picture we read (a PDF, a video, random bytes) or a damaged one (truncated)."""
    TOO_BIG = "too_big"
    """Over ``DOWNLOAD_LIMIT`` (20 MB) as sent: Telegram does not hand bots such files."""
    TOO_LARGE_AFTER_FIT = "too_large_after_fit"
    """Still over the model's byte limit when shrunk to ``MIN_SIDE``."""
    TOO_MANY_PIXELS = "too_many_pixels"
    """Its header claims more pixels than we decode (a decompression bomb, or absurdly large)."""


class UnusablePicture(Exception):
    """The picture cannot be used; ``code`` says why."""

    def __init__(self, code: Unusable) -> None:
        super().__init__(code.value)
        self.code = code


@dataclass(frozen=True)
class Fitted:
    """A picture ready for the model and what was done to it (the bot may tell the user)."""

    media: Media
    """Bytes, a file name whose extension matches, and their MIME type."""
    animated: bool
    """The file was an animation: ``media`` is its first frame."""
    converted: bool
    """``media`` is of another type than the file (HEIC -> JPEG, WebP -> PNG, ...)."""
    resized: bool
    """``media`` has fewer pixels than the (upright) file."""


def fit_picture(data: bytes, limits: PictureLimits, *, filename: str = "picture") -> Fitted:
    """``data`` made fit for a model with ``limits``; ``filename``'s stem names the result.

    Bytes whose type the model reads, upright, still, within ``max_side`` and ``max_bytes`` (and
    without transparency when ``limits.alpha`` is false) go through untouched, once decoded in
    full to make sure they are whole. Anything else is re-encoded: the first frame of an
    animation; EXIF orientation applied (the rest of EXIF, GPS included, is dropped);
    transparency (an alpha channel opaque all over is none) kept in PNG, or another type that
    keeps it, when the model takes it, else flattened onto white; written as JPEG (quality 90)
    when the model takes JPEG, else as its first type; downscaled with Lanczos to ``max_side``
    (a large JPEG is decoded at 1/2, 1/4 or 1/8 scale when that keeps 90% of ``max_side``:
    several times cheaper); over ``max_bytes``, saved at lower quality, then shrunk step by
    step. The ICC colour profile is kept as it is, not converted to sRGB (a CMYK picture is
    converted to sRGB through its profile, and carries sRGB).

    Raises UnusablePicture; ValueError when ``limits.types`` names no type we can write.
    """
    if len(data) > DOWNLOAD_LIMIT:
        raise UnusablePicture(Unusable.TOO_BIG)
    with _open(data) as image:
        source_type = SOURCE_TYPES[image.format or ""]
        animated = image.format in ANIMATABLE and bool(getattr(image, "is_animated", False))
        orientation = _orientation(image)
        width, height = image.size
        as_is = (
            source_type in {_canonical(kind) for kind in limits.types}
            and not animated
            and orientation == 1
            and max(width, height) <= limits.max_side
            and len(data) <= limits.max_bytes
        )
        if not as_is and image.format in ("JPEG", "MPO"):
            _draft(image, limits.max_side)
        _decode(image)
        alpha = _transparent(image)
        if as_is and (limits.alpha or not alpha):
            media = Media(data, _name(filename, source_type), source_type)
            return Fitted(media, animated=False, converted=False, resized=False)
        target = _target_type(limits, alpha=alpha and limits.alpha)
        keep = alpha and limits.alpha and target in ALPHA_TYPES
        upright = ImageOps.exif_transpose(image) if orientation != 1 else image
        picture, icc = _pixels(upright, alpha=alpha, keep=keep)
        picture = _shrink(picture, limits.max_side)
        encoded, picture = _within_bytes(picture, target, icc, limits.max_bytes)
    upright_size = (height, width) if orientation in TURNING else (width, height)
    return Fitted(
        Media(encoded, _name(filename, target), target),
        animated=animated,
        converted=target != source_type,
        resized=picture.size != upright_size,
    )


@functools.cache
def _register_heif() -> None:
    """Teaches Pillow HEIF/HEIC (iPhone photos sent as files); once, on the first need."""
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def _open(data: bytes) -> Image.Image:
    """The picture, its header read and its size checked, nothing decoded yet."""
    if data[4:8] == b"ftyp":  # an ISO media file: HEIF, AVIF, or a video
        _register_heif()
    Image.init()
    readable = [fmt for fmt in READABLE if fmt in Image.OPEN]
    try:
        image = Image.open(io.BytesIO(data), formats=readable)
    except Image.DecompressionBombError:
        raise UnusablePicture(Unusable.TOO_MANY_PIXELS) from None
    except DECODE_ERRORS:
        raise UnusablePicture(Unusable.NOT_A_PICTURE) from None
    width, height = image.size
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        image.close()
        raise UnusablePicture(Unusable.TOO_MANY_PIXELS)
    return image


def _decode(image: Image.Image) -> None:
    """Decodes the (first) frame whole: damaged or truncated data is refused here."""
    try:
        image.load()
    except Image.DecompressionBombError:
        raise UnusablePicture(Unusable.TOO_MANY_PIXELS) from None
    except DECODE_ERRORS:
        raise UnusablePicture(Unusable.NOT_A_PICTURE) from None


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1: upright, as stored; 2-8: turned and/or mirrored)."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except DECODE_ERRORS:
        return 1  # unreadable EXIF: nothing to turn by
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _canonical(content_type: str) -> str:
    kind = content_type.strip().lower()
    return ALIASES.get(kind, kind)


def _target_type(limits: PictureLimits, *, alpha: bool) -> str:
    """The type to write: one that keeps transparency (PNG first) when there is some to keep,
    else JPEG, else the first the model reads that we can write."""
    allowed = [kind for kind in map(_canonical, limits.types) if kind in WRITERS]
    if not allowed:
        raise ValueError(f"no picture type we can write in {limits.types!r}")
    if alpha:
        keeping = [kind for kind in ALPHA_TYPES if kind in allowed]
        if keeping:
            return keeping[0]
    return "image/jpeg" if "image/jpeg" in allowed else allowed[0]


def _draft(image: Image.Image, max_side: int) -> None:
    """Asks the JPEG decoder for a smaller scale when one is still (nearly) big enough."""
    scale = DRAFT_SLACK * max_side / max(image.size)
    if scale < 1:
        wanted = (math.ceil(image.width * scale), math.ceil(image.height * scale))
        image.draft(image.mode, wanted)


def _transparent(image: Image.Image) -> bool:
    """Whether any pixel is see-through (an alpha channel that is opaque all over is not)."""
    if "transparency" in image.info:
        return True
    if image.mode not in ALPHA_MODES:
        return False
    low = image.getchannel(image.getbands()[-1]).getextrema()[0]
    return not isinstance(low, tuple) and low < 255


def _pixels(image: Image.Image, *, alpha: bool, keep: bool) -> tuple[Image.Image, bytes | None]:
    """RGB, or RGBA when there is transparency to ``keep`` (else flattened onto white), with the
    ICC profile that describes the result (None: none, or one that no longer fits, e.g. a grey
    one on pixels now RGB)."""
    icc = image.info.get("icc_profile") or None
    if image.mode == "CMYK":
        return _from_cmyk(image, icc)
    if image.mode.startswith("I"):  # 16- or 32-bit grey: scaled down, not clipped
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if not isinstance(icc, bytes) or icc[16:20] != b"RGB ":
        icc = None
    if not alpha:
        return (image if image.mode == "RGB" else image.convert("RGB")), icc
    rgba = image.convert("RGBA")
    if keep:
        return rgba, icc
    flat = Image.new("RGB", rgba.size, WHITE)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat, icc


def _from_cmyk(image: Image.Image, icc: object) -> tuple[Image.Image, bytes | None]:
    """A print picture in sRGB: through its own profile when it has one that works."""
    if isinstance(icc, bytes):
        try:
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            rgb = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
        else:
            if rgb is not None:
                return rgb, srgb.tobytes()
    return image.convert("RGB"), None


def _shrink(image: Image.Image, longest: int) -> Image.Image:
    """``image`` with its longest side at most ``longest`` (Lanczos)."""
    scale = longest / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _within_bytes(
    image: Image.Image, content_type: str, icc: bytes | None, max_bytes: int
) -> tuple[bytes, Image.Image]:
    """The encoded picture within ``max_bytes`` and the pixels it holds: at lower quality
    first, then smaller, down to ``MIN_SIDE``."""
    qualities = (JPEG_QUALITY, *LOWER_QUALITIES) if content_type in LOSSY else (JPEG_QUALITY,)
    for quality in qualities:
        encoded = _encode(image, content_type, quality, icc)
        if len(encoded) <= max_bytes:
            return encoded, image
    longest = max(image.size)
    while longest > MIN_SIDE:
        factor = min(SHRINK, 0.95 * math.sqrt(max_bytes / len(encoded)))  # bytes ~ pixels
        longest = max(MIN_SIDE, int(longest * factor))
        smaller = _shrink(image, longest)
        encoded = _encode(smaller, content_type, qualities[-1], icc)
        if len(encoded) <= max_bytes:
            return encoded, smaller
    raise UnusablePicture(Unusable.TOO_LARGE_AFTER_FIT)


def _encode(image: Image.Image, content_type: str, quality: int, icc: bytes | None) -> bytes:
    """``image`` written as ``content_type``, with ``icc`` and no EXIF."""
    fmt, _ = WRITERS[content_type]
    if fmt == "HEIF":
        _register_heif()
    params: dict[str, Any] = {}
    if icc is not None:
        params["icc_profile"] = icc
    if content_type in LOSSY:
        params["quality"] = quality
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _name(filename: str, content_type: str) -> str:
    """``filename``'s stem, safe to put in a form, with the extension of ``content_type``."""
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.ASCII).strip("._")[:64] or "picture"
    return f"{stem}.{WRITERS.get(content_type, ('', 'bin'))[1]}"
