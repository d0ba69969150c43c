"""What a user's picture looks like when it goes up to an edit model (bot/pictures/intake.py)."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageCms

from bot.pictures.intake import (
    DOWNLOAD_LIMIT,
    MIN_SIDE,
    Fitted,
    Unusable,
    UnusablePicture,
    fit_picture,
)
from providers.core.types import PictureLimits

OPENAI = PictureLimits(("image/png", "image/jpeg", "image/webp"), 2048, 10 * 1024 * 1024, True)
NO_WEBP = PictureLimits(("image/png", "image/jpeg"), 2048, 10 * 1024 * 1024, True)
JPEG_ONLY = PictureLimits(("image/jpeg",), 2048, 10 * 1024 * 1024, False)
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
YELLOW, WHITE = (255, 255, 0), (255, 255, 255)


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def quadrants(width: int, height: int) -> Image.Image:
    """Red top left, green top right, blue bottom left, yellow bottom right."""
    image = Image.new("RGB", (width, height))
    half_w, half_h = width // 2, height // 2
    image.paste(RED, (0, 0, half_w, half_h))
    image.paste(GREEN, (half_w, 0, width, half_h))
    image.paste(BLUE, (0, half_h, half_w, height))
    image.paste(YELLOW, (half_w, half_h, width, height))
    return image


def noisy(width: int, height: int) -> Image.Image:
    """A photo-like picture that does not compress away."""
    small = Image.effect_noise((width // 4, height // 4), 60).convert("RGB")
    noise = small.resize((width, height), Image.Resampling.NEAREST)
    return Image.blend(quadrants(width, height), noise, 0.4)


def opened(fitted: Fitted) -> Image.Image:
    """The result decoded, after checking its name and type agree with its bytes."""
    media = fitted.media
    image = Image.open(io.BytesIO(media.data))
    image.load()
    assert media.content_type == Image.MIME[image.format or ""]
    assert media.filename.endswith("." + EXTENSIONS[media.content_type])
    return image


def near(actual: object, expected: tuple[int, ...], tolerance: int = 24) -> bool:
    assert isinstance(actual, tuple)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def test_a_phone_photo_turned_by_exif_comes_out_upright() -> None:
    upright = quadrants(400, 300)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "turn 90° clockwise to show": stored turned left
    data = encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif)

    fitted = fit_picture(data, OPENAI, filename="IMG_0001.JPG")

    image = opened(fitted)
    assert image.size == (400, 300)
    assert near(image.getpixel((20, 20)), RED)
    assert near(image.getpixel((380, 20)), GREEN)
    assert near(image.getpixel((20, 280)), BLUE)
    assert near(image.getpixel((380, 280)), YELLOW)
    assert ExifTags.Base.Orientation not in image.getexif()
    assert fitted.media.filename == "IMG_0001.jpg"
    assert not fitted.converted and not fitted.resized and not fitted.animated


def test_a_large_photo_fits_the_longest_side_and_a_tight_byte_limit() -> None:
    data = encode(noisy(4000, 3000), "JPEG", quality=92)
    limits = PictureLimits(("image/png", "image/jpeg"), 2048, 400_000, True)

    fitted = fit_picture(data, limits)

    image = opened(fitted)
    assert MIN_SIDE < max(image.size) <= 2048
    assert abs(image.width / image.height - 4 / 3) < 0.01
    assert len(fitted.media.data) <= 400_000
    assert fitted.resized and not fitted.converted
    assert fitted.media.content_type == "image/jpeg"
    assert near(image.getpixel((image.width // 8, image.height // 8)), RED, tolerance=90)


def test_a_large_turned_photo_within_bytes_keeps_the_most_pixels_the_model_takes() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    stored = quadrants(4000, 3000).transpose(Image.Transpose.ROTATE_90)
    data = encode(stored, "JPEG", quality=90, exif=exif)

    fitted = fit_picture(data, OPENAI)

    image = opened(fitted)
    assert 0.9 * 2048 <= image.width <= 2048  # decoded at half scale: 2000 wide
    assert abs(image.width / image.height - 4 / 3) < 0.01
    assert near(image.getpixel((20, 20)), RED)
    assert near(image.getpixel((image.width - 20, image.height - 20)), YELLOW)
    assert fitted.resized and not fitted.converted


def test_a_byte_limit_no_sensible_size_meets_is_refused() -> None:
    data = encode(noisy(1200, 900), "JPEG", quality=92)
    limits = PictureLimits(("image/jpeg",), 2048, 3_000, True)

    with pytest.raises(UnusablePicture) as caught:
        fit_picture(data, limits)

    assert caught.value.code is Unusable.TOO_LARGE_AFTER_FIT


def transparent_png() -> bytes:
    """A red square on a transparent background."""
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    image.paste((*RED, 255), (50, 50, 150, 150))
    return encode(image, "PNG")


def test_transparency_is_kept_when_the_model_takes_it() -> None:
    data = transparent_png()
    limits = PictureLimits(("image/png", "image/jpeg"), 100, 10_000_000, True)

    fitted = fit_picture(data, limits)

    image = opened(fitted)
    assert image.mode == "RGBA" and image.size == (100, 100)
    assert image.getpixel((5, 5))[3] == 0  # type: ignore[index]
    assert near(image.getpixel((50, 50)), (*RED, 255))


def test_transparency_is_flattened_onto_white_when_the_model_does_not_take_it() -> None:
    data = transparent_png()
    limits = PictureLimits(("image/png", "image/jpeg"), 2048, 10_000_000, alpha=False)

    fitted = fit_picture(data, limits)

    image = opened(fitted)
    assert fitted.media.content_type == "image/jpeg" and fitted.converted
    assert image.mode == "RGB"
    assert near(image.getpixel((5, 5)), WHITE)
    assert near(image.getpixel((100, 100)), RED)


def test_a_small_allowed_png_with_transparency_goes_through_untouched() -> None:
    data = transparent_png()

    fitted = fit_picture(data, OPENAI, filename="sticker.png")

    assert fitted.media.data == data
    assert fitted.media.content_type == "image/png"
    assert fitted.media.filename == "sticker.png"


def test_an_alpha_channel_opaque_all_over_is_no_transparency() -> None:
    data = encode(quadrants(300, 200).convert("RGBA"), "PNG")

    smaller = fit_picture(data, PictureLimits(max_side=150))
    as_is = fit_picture(data, PictureLimits(alpha=False))

    assert smaller.media.content_type == "image/jpeg"
    assert near(opened(smaller).getpixel((10, 10)), RED)
    assert as_is.media.data == data


def test_webp_is_converted_when_the_model_does_not_take_it() -> None:
    data = encode(quadrants(300, 200), "WEBP", quality=90)

    fitted = fit_picture(data, NO_WEBP, filename="photo.webp")

    image = opened(fitted)
    assert fitted.converted and fitted.media.content_type == "image/jpeg"
    assert fitted.media.filename == "photo.jpg"
    assert near(image.getpixel((20, 20)), RED)
    assert fit_picture(data, OPENAI).media.data == data  # taken as it is where it is allowed


def test_webp_with_transparency_becomes_png_where_webp_is_not_taken() -> None:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.paste((*BLUE, 255), (0, 0, 32, 64))
    data = encode(image, "WEBP", lossless=True)

    fitted = fit_picture(data, NO_WEBP)

    result = opened(fitted)
    assert fitted.media.content_type == "image/png"
    assert result.getpixel((10, 10)) == (*BLUE, 255)
    assert result.getpixel((50, 10))[3] == 0  # type: ignore[index]


def test_an_iphone_heic_is_converted() -> None:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(quadrants(320, 240)).save(buffer, quality=90)
    data = buffer.getvalue()

    fitted = fit_picture(data, OPENAI, filename="IMG_4242.HEIC")

    image = opened(fitted)
    assert fitted.converted and fitted.media.content_type == "image/jpeg"
    assert fitted.media.filename == "IMG_4242.jpg"
    assert image.size == (320, 240)
    assert near(image.getpixel((20, 20)), RED, tolerance=40)
    assert near(image.getpixel((300, 220)), YELLOW, tolerance=40)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_an_animation_gives_its_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (80, 60), colour) for colour in (RED, BLUE, GREEN)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)

    fitted = fit_picture(data, OPENAI)

    image = opened(fitted)
    assert fitted.animated
    assert image.size == (80, 60)
    assert near(image.convert("RGB").getpixel((40, 30)), RED)
    assert getattr(image, "n_frames", 1) == 1


def jpeg_truncated() -> bytes:
    data = encode(noisy(640, 480), "JPEG", quality=90)
    return data[: len(data) // 2]


def jpeg_truncated_and_turned() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = encode(noisy(600, 400).resize((4500, 3000)), "JPEG", quality=90, exif=exif)
    return data[: len(data) * 2 // 3]


def heic_truncated() -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(noisy(320, 240)).save(buffer, quality=90)
    return buffer.getvalue()[:-600]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", id="pdf"),
        pytest.param(random.Random(18).randbytes(64 * 1024), id="random bytes"),
        pytest.param(
            b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(4096), id="mp4"
        ),
        pytest.param(b"", id="empty"),
        pytest.param(jpeg_truncated(), id="truncated jpeg"),
        pytest.param(jpeg_truncated_and_turned(), id="truncated jpeg, turned and downscaled"),
        pytest.param(heic_truncated(), id="truncated heic"),
    ],
)
def test_what_is_not_a_whole_picture_is_refused(data: bytes) -> None:
    with pytest.raises(UnusablePicture) as caught:
        fit_picture(data, OPENAI)

    assert caught.value.code is Unusable.NOT_A_PICTURE


def test_a_file_over_telegrams_download_limit_is_refused_unread() -> None:
    data = encode(Image.new("RGB", (8, 8)), "JPEG") + bytes(21 * 1024 * 1024)
    assert len(data) > DOWNLOAD_LIMIT

    with pytest.raises(UnusablePicture) as caught:
        fit_picture(data, OPENAI)

    assert caught.value.code is Unusable.TOO_BIG


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` and holds almost nothing."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(1024))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)


def gif_screen(width: int, height: int) -> bytes:
    """A tiny GIF whose screen claims ``width`` x ``height``."""
    data = encode(Image.new("P", (4, 4)), "GIF")
    return data[:6] + struct.pack("<HH", width, height) + data[10:]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png_header(8000, 8000), id="64 megapixels"),
        pytest.param(png_header(40_000, 10), id="40000 pixels long"),
        pytest.param(png_header(100_000, 100_000), id="Pillow's own bomb limit"),
        pytest.param(gif_screen(65535, 65535), id="gif"),
    ],
)
def test_a_decompression_bomb_is_refused_before_decoding(data: bytes) -> None:
    with pytest.raises(UnusablePicture) as caught:
        fit_picture(data, OPENAI)

    assert caught.value.code is Unusable.TOO_MANY_PIXELS


def test_an_allowed_small_jpeg_goes_through_byte_identical() -> None:
    data = encode(quadrants(640, 480), "JPEG", quality=85)

    fitted = fit_picture(data, OPENAI, filename="cat.jpeg")

    assert fitted.media.data is data
    assert fitted.media.content_type == "image/jpeg"
    assert fitted.media.filename == "cat.jpg"
    assert not (fitted.converted or fitted.resized or fitted.animated)


def test_a_cameras_mpo_is_a_jpeg() -> None:
    frames = [quadrants(300, 200), quadrants(300, 200).transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    data = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])

    fitted = fit_picture(data, OPENAI)

    assert fitted.media.data == data and fitted.media.content_type == "image/jpeg"
    assert not fitted.animated


def rgb_profile() -> bytes:
    data = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert data[16:20] == b"RGB "
    return data


@pytest.mark.parametrize(
    ("source", "limits"),
    [
        pytest.param("PNG", JPEG_ONLY, id="converted"),
        pytest.param("JPEG", PictureLimits(max_side=100), id="downscaled"),
    ],
)
def test_the_colour_profile_is_kept(source: str, limits: PictureLimits) -> None:
    icc = rgb_profile()
    data = encode(quadrants(300, 200), source, icc_profile=icc)

    fitted = fit_picture(data, limits)

    assert opened(fitted).info.get("icc_profile") == icc
    assert fitted.converted or fitted.resized


def test_a_profile_for_other_than_rgb_is_not_put_on_rgb_pixels() -> None:
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    data = encode(Image.new("L", (300, 200), 128), "PNG", icc_profile=lab)

    image = opened(fit_picture(data, JPEG_ONLY))

    assert image.mode == "RGB" and "icc_profile" not in image.info


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    data = encode(Image.new("I;16", (64, 64), 32768), "PNG")

    image = opened(fit_picture(data, JPEG_ONLY))

    assert near(image.getpixel((32, 32)), (128, 128, 128), tolerance=3)


def test_a_print_cmyk_picture_arrives_in_rgb() -> None:
    data = encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG", quality=95)
    limits = PictureLimits(("image/jpeg",), 32, 10_000_000, False)

    image = opened(fit_picture(data, limits))

    assert image.mode == "RGB" and image.size == (32, 32)
    assert near(image.getpixel((16, 16)), RED, tolerance=40)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../etc/passwd", "passwd.jpg"),
        ("C:\\Users\\me\\Фото 1.png", "1.jpg"),
        ("", "picture.jpg"),
        ("a b;c.heic", "a_b_c.jpg"),
    ],
)
def test_the_file_name_is_safe_and_names_the_type(filename: str, expected: str) -> None:
    data = encode(quadrants(100, 100), "BMP")

    assert fit_picture(data, OPENAI, filename=filename).media.filename == expected


def test_limits_with_no_type_we_write_are_a_programming_error() -> None:
    data = encode(quadrants(100, 100), "BMP")

    with pytest.raises(ValueError, match="image/x-unknown"):
        fit_picture(data, PictureLimits(("image/x-unknown",)))
