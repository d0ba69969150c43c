"""Getting finished images into the chat: fetched by the bot, made Telegram-friendly, sent as
one photo or media groups, with documents as the fallback."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from telegram import Bot, InputMediaDocument, InputMediaPhoto, Message, ReplyParameters
from telegram.error import BadRequest

from providers.http import HttpClient

log = logging.getLogger(__name__)

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10_000
PHOTO_MAX_RATIO = 20
ALBUM_MAX = 10
PHOTO_FORMATS = {"JPEG", "PNG"}


@dataclass(frozen=True)
class Picture:
    """Bytes ready to upload and whether Telegram will take them as a photo."""

    data: bytes
    filename: str
    as_photo: bool


async def fetch(images: Sequence[str | bytes], http: HttpClient, provider: str) -> list[bytes]:
    """The bytes of every image, downloading URLs through the bot's own (proxied) pool.

    The bot uploads instead of passing URLs so that delivery works when Telegram cannot reach
    the provider, and so that formats Telegram shows badly (WebP) can be converted first.
    """

    async def one(image: str | bytes) -> bytes:
        return image if isinstance(image, bytes) else await http.read(image, provider=provider)

    return list(await asyncio.gather(*(one(i) for i in images)))


def prepare(data: bytes, index: int) -> Picture:
    """Makes one image Telegram-friendly: PNG/JPEG as they are, others converted to PNG;
    too large or too oddly shaped for a photo -> sent as a document."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            fmt = image.format or ""
            if fmt not in PHOTO_FORMATS:
                buffer = io.BytesIO()
                converted = image if image.mode in ("RGB", "RGBA", "L") else image.convert("RGBA")
                converted.save(buffer, format="PNG")
                data, fmt = buffer.getvalue(), "PNG"
    except (UnidentifiedImageError, OSError):
        return Picture(data, f"image-{index + 1}.bin", as_photo=False)
    extension = "jpg" if fmt == "JPEG" else "png"
    fits = (
        len(data) <= PHOTO_MAX_BYTES
        and width + height <= PHOTO_MAX_SIDES
        and max(width, height) <= PHOTO_MAX_RATIO * min(width, height)
    )
    return Picture(data, f"image-{index + 1}.{extension}", as_photo=fits)


async def prepare_all(blobs: Sequence[bytes]) -> list[Picture]:
    """:func:`prepare` for each image, off the event loop (Pillow work is CPU-bound)."""
    return await asyncio.to_thread(lambda: [prepare(b, i) for i, b in enumerate(blobs)])


def albums(count: int) -> list[range]:
    """Index ranges of at most ten, avoiding a lonely last item where a split can even out."""
    groups = -(-count // ALBUM_MAX)
    size = -(-count // groups) if groups else 0
    return [range(start, min(start + size, count)) for start in range(0, count, size or 1)]


async def send_pictures(
    bot: Bot, chat_id: int, reply_to: int, pictures: Sequence[Picture], caption: str
) -> list[Message]:
    """Sends all pictures replying to ``reply_to``, the caption on the first; returns the messages.

    A photo Telegram refuses is sent again as a document, so nothing is lost.
    """
    reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
    photos = [p for p in pictures if p.as_photo]
    documents = [p for p in pictures if not p.as_photo]
    sent: list[Message] = []
    for group in albums(len(photos)):
        batch = [photos[i] for i in group]
        text = caption if not sent else None
        try:
            sent += await _send_batch(bot, chat_id, reply, batch, text, as_photo=True)
        except BadRequest as error:
            log.info("photos refused (%s); sending them as documents", error)
            documents += batch
    for group in albums(len(documents)):
        batch = [documents[i] for i in group]
        text = caption if not sent else None
        sent += await _send_batch(bot, chat_id, reply, batch, text, as_photo=False)
    return sent


async def _send_batch(
    bot: Bot,
    chat_id: int,
    reply: ReplyParameters,
    batch: Sequence[Picture],
    caption: str | None,
    *,
    as_photo: bool,
) -> list[Message]:
    if len(batch) == 1:
        picture = batch[0]
        if as_photo:
            message = await bot.send_photo(
                chat_id,
                picture.data,
                caption=caption,
                reply_parameters=reply,
                filename=picture.filename,
            )
        else:
            message = await bot.send_document(
                chat_id,
                picture.data,
                caption=caption,
                reply_parameters=reply,
                filename=picture.filename,
            )
        return [message]
    media: list[InputMediaPhoto | InputMediaDocument] = []
    for i, picture in enumerate(batch):
        item_caption = caption if i == 0 else None
        if as_photo:
            media.append(
                InputMediaPhoto(picture.data, caption=item_caption, filename=picture.filename)
            )
        else:
            media.append(
                InputMediaDocument(picture.data, caption=item_caption, filename=picture.filename)
            )
    return list(await bot.send_media_group(chat_id, media, reply_parameters=reply))
