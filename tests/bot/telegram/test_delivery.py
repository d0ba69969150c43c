"""Turning provider output into something Telegram shows well."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from bot.pictures.prepare import NotAPicture, prepare
from bot.telegram.delivery import albums


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_png_and_jpeg_are_sent_unchanged() -> None:
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg")):
        data = image_bytes(fmt)
        picture = prepare(data, 0)
        assert picture.data == data and picture.as_photo and picture.filename.endswith(ext)


def test_webp_becomes_png_so_clients_do_not_show_a_sticker() -> None:
    picture = prepare(image_bytes("WEBP"), 1)
    assert picture.as_photo and picture.filename == "image-2.png"
    with Image.open(io.BytesIO(picture.data)) as converted:
        assert converted.format == "PNG" and converted.size == (64, 48)


def test_too_large_or_odd_images_go_as_documents() -> None:
    assert not prepare(image_bytes("PNG", (9000, 1200)), 0).as_photo  # width + height > 10000
    assert not prepare(image_bytes("PNG", (2100, 100)), 0).as_photo  # ratio over 20


def test_what_is_not_a_sane_picture_is_refused() -> None:
    for data in (b"definitely not an image", b"<html><body>Login</body></html>"):
        with pytest.raises(NotAPicture, match="not a picture"):
            prepare(data, 0)
    with pytest.raises(NotAPicture, match="not a picture"):
        prepare(image_bytes("PNG")[:-40], 0)  # truncated
    with pytest.raises(NotAPicture, match="too large"):
        prepare(bomb_png(100_000, 100_000), 0)


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header claiming huge dimensions (a decompression bomb's shape), tiny on the wire."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat_data = zlib.compress(b"\0" * 1024)
    idat = b"IDAT" + idat_data
    end = b"IEND"
    return (
        b"\x89PNG\r\n\x1a\n"
        + ihdr
        + struct.pack(">I", len(idat_data))
        + idat
        + struct.pack(">I", zlib.crc32(idat))
        + struct.pack(">I", 0)
        + end
        + struct.pack(">I", zlib.crc32(end))
    )


def test_albums_hold_two_to_ten_and_avoid_a_lonely_last_photo() -> None:
    assert [len(r) for r in albums(4)] == [4]
    assert [len(r) for r in albums(11)] == [6, 5]
    assert [len(r) for r in albums(20)] == [10, 10]
    assert albums(0) == []
