"""Sending a parcel of finished pictures: one photo or albums, documents as the fallback, and
the keyboard under them.

Transient faults are ridden out until the deadline (:func:`bot.sending.persistently`); each
batch Telegram accepts is recorded in the outbox at once, so a retry or a restart never sends
it again. Photos Telegram refuses go again as documents; documents it refuses end the delivery
with :class:`Undeliverable`, whose text tells the user why.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest

from bot.i18n import N_, Translator
from bot.pictures.prepare import Picture
from bot.storage.outbox import Delivered, Outbox, Parcel
from bot.telegram.sending import Destination, persistently

log = logging.getLogger(__name__)

ALBUM_MAX = 10
UPLOAD_TIMEOUT = 120.0  # seconds one upload may take before it counts as a transient fault


REFUSED = N_("Telegram refused the images ({reason}).")


class Undeliverable(Exception):
    """Telegram refused the pictures for good; :meth:`text` is the reason for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSED.format(reason=reason))
        self.reason = reason

    def text(self, tr: Translator) -> str:
        """The reason in ``tr``'s language (Telegram's own words stay as they are)."""
        return tr.gettext(REFUSED).format(reason=self.reason)


@dataclass(frozen=True)
class Look:
    """How photos are shown: behind a spoiler, the caption above them."""

    spoiler: bool = False
    caption_above: bool = False


def albums(count: int) -> list[range]:
    """Index ranges of at most ten, avoiding a lonely last item where a split can even out."""
    groups = -(-count // ALBUM_MAX)
    size = -(-count // groups) if groups else 0
    return [range(start, min(start + size, count)) for start in range(0, count, size or 1)]


async def deliver(
    bot: Bot,
    outbox: Outbox,
    parcel: Parcel,
    to: Destination,
    *,
    reply_to: int | None,
    thread_id: int | None,
    deadline: float,
    landed: Callable[[dict[int, Delivered]], Awaitable[None]],
) -> None:
    """Sends the parcel's pending pictures, the caption on the first message that goes out,
    and the keyboard under the result (on the picture when there is one, else in a message
    after them); tells ``landed`` where each picture went before the keyboard follows them."""
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    )
    pending = parcel.pending
    photos = [i for i in pending if parcel.pictures[i].as_photo]
    documents = [i for i in pending if not parcel.pictures[i].as_photo]
    look = Look(parcel.spoiler, parcel.caption_above)
    single = len(parcel.pictures) == 1
    markup = _markup(parcel) if single else None

    async def send(indices: list[int], *, as_photo: bool) -> None:
        caption = None if parcel.caption_sent else parcel.caption
        batch = [parcel.pictures[i] for i in indices]
        messages = await persistently(
            lambda chat_id: _send_batch(
                bot, chat_id, reply, thread_id, batch, caption, as_photo, look, markup
            ),
            to,
            deadline=deadline,
        )
        where = {i: _landed(m) for i, m in zip(indices, messages, strict=False)}
        await outbox.mark_sent(parcel, where, with_caption=bool(caption))

    for group in albums(len(photos)):
        indices = [photos[i] for i in group]
        try:
            await send(indices, as_photo=True)
        except BadRequest as error:
            log.info("photos refused (%s); sending them as documents", error)
            documents += indices
    for group in albums(len(documents)):
        try:
            await send([documents[i] for i in group], as_photo=False)
        except BadRequest as error:
            raise Undeliverable(str(error)) from error
    await landed(dict(parcel.delivered))
    if parcel.buttons is not None and not single and not parcel.buttons_sent:
        first = min(parcel.delivered.values(), key=lambda d: d.message_id, default=None)
        under = (
            ReplyParameters(first.message_id, allow_sending_without_reply=True) if first else reply
        )
        text, keyboard = parcel.buttons.text, _markup(parcel)
        await persistently(
            lambda chat_id: bot.send_message(
                chat_id,
                text,
                reply_parameters=under,
                message_thread_id=thread_id,
                reply_markup=keyboard,
            ),
            to,
            deadline=deadline,
        )
        await outbox.mark_buttons_sent(parcel)


def _markup(parcel: Parcel) -> InlineKeyboardMarkup | None:
    if parcel.buttons is None:
        return None
    return InlineKeyboardMarkup.de_json(parcel.buttons.markup, None)


def _landed(message: Message) -> Delivered:
    """The message and file id of one sent picture."""
    return Delivered(message.message_id, file_id_of(message) or "")


async def send_picture(
    bot: Bot,
    chat_id: int,
    picture: Picture,
    *,
    as_photo: bool,
    caption: str | None = None,
    reply: ReplyParameters | None = None,
    thread_id: int | None = None,
    look: Look = Look(),
    markup: InlineKeyboardMarkup | None = None,
    quietly: bool = False,
) -> Message:
    """Uploads one picture as a photo (as ``look`` says) or as a document; ``quietly``: the
    chat is not notified."""
    if as_photo:
        return await bot.send_photo(
            chat_id,
            picture.data,
            caption=caption,
            reply_parameters=reply,
            message_thread_id=thread_id,
            filename=picture.filename,
            has_spoiler=look.spoiler or None,
            show_caption_above_media=(look.caption_above and bool(caption)) or None,
            reply_markup=markup,
            disable_notification=quietly or None,
            read_timeout=UPLOAD_TIMEOUT,
            write_timeout=UPLOAD_TIMEOUT,
        )
    return await bot.send_document(
        chat_id,
        picture.data,
        caption=caption,
        reply_parameters=reply,
        message_thread_id=thread_id,
        filename=picture.filename,
        reply_markup=markup,
        disable_notification=quietly or None,
        read_timeout=UPLOAD_TIMEOUT,
        write_timeout=UPLOAD_TIMEOUT,
    )


def file_id_of(message: Message) -> str | None:
    """Telegram's file id of the picture a message carries (the largest photo size)."""
    if message.photo:
        return message.photo[-1].file_id
    return message.document.file_id if message.document is not None else None


async def _send_batch(
    bot: Bot,
    chat_id: int,
    reply: ReplyParameters | None,
    thread_id: int | None,
    batch: Sequence[Picture],
    caption: str | None,
    as_photo: bool,
    look: Look,
    markup: InlineKeyboardMarkup | None,
) -> list[Message]:
    if len(batch) == 1:
        message = await send_picture(
            bot,
            chat_id,
            batch[0],
            as_photo=as_photo,
            caption=caption,
            reply=reply,
            thread_id=thread_id,
            look=look,
            markup=markup,
        )
        return [message]
    media: list[InputMediaPhoto | InputMediaDocument] = []
    for i, picture in enumerate(batch):
        item_caption = caption if i == 0 else None
        if as_photo:
            media.append(
                InputMediaPhoto(
                    picture.data,
                    caption=item_caption,
                    filename=picture.filename,
                    has_spoiler=look.spoiler or None,
                    show_caption_above_media=(look.caption_above and bool(item_caption)) or None,
                )
            )
        else:
            media.append(
                InputMediaDocument(picture.data, caption=item_caption, filename=picture.filename)
            )
    return list(
        await bot.send_media_group(
            chat_id,
            media,
            reply_parameters=reply,
            message_thread_id=thread_id,
            read_timeout=UPLOAD_TIMEOUT,
            write_timeout=UPLOAD_TIMEOUT,
        )
    )
