"""The user's pictures a job takes in: which message holds one, where it is on Telegram
(kept with the job, so a restart can fetch it again), and its bytes, through getFile.

A Telegram file URL carries the bot token: it is used here to download and never stored,
logged or handed to a provider; what leaves is the bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Message
from telegram.error import TelegramError

from bot.i18n import N_, Translator
from bot.jobs.active import JobFailed
from bot.jobs.rejected import Rejected
from bot.pictures.intake import Fitted, Unusable, UnusablePicture, fit_picture
from bot.runtime import Runtime
from providers import Media, PictureLimits

log = logging.getLogger(__name__)

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # bots may download files up to 20 MB

NOT_AN_IMAGE = {
    "animation": N_("I can read photos and image files; this is a GIF."),
    "video": N_("I can read photos and image files; this is a video."),
    "video_note": N_("I can read photos and image files; this is a video message."),
    "voice": N_("I can read photos and image files; this is a voice message."),
    "audio": N_("I can read photos and image files; this is an audio file."),
    "sticker": N_("I can read photos and image files; this is a sticker."),
    "pdf": N_("I can read photos and image files; this is a PDF."),
    "document": N_("I can read photos and image files; this is a {type} file."),
}
"""What a question about media the models cannot read is told, by the media's kind."""


def not_an_image(message: Message, tr: Translator) -> str | None:
    """Why ``message``'s media cannot be asked about (None: an image, or no media at all)."""
    if message.photo:
        return None
    for kind in ("animation", "video", "video_note", "voice", "audio", "sticker"):
        if getattr(message, kind) is not None:
            return tr.gettext(NOT_AN_IMAGE[kind])
    document = message.document
    if document is None:
        return None
    mime = (document.mime_type or "").lower()
    if mime.startswith("image/"):
        return None
    if mime == "application/pdf" or (document.file_name or "").lower().endswith(".pdf"):
        return tr.gettext(NOT_AN_IMAGE["pdf"])
    name = document.file_name or ""
    extension = name.rpartition(".")[2] if "." in name else ""
    kind = extension.upper() if extension.isalnum() else mime.partition("/")[2] or "?"
    return tr.gettext(NOT_AN_IMAGE["document"]).format(type=kind[:16])


def refuse_other_media(message: Message, tr: Translator) -> None:
    """Rejected when the question is about media that is not an image: on the command's own
    message (its caption) or on the message it replies to."""
    for candidate in (message, message.reply_to_message):
        if candidate is None:
            continue
        if candidate.photo or is_image_file(candidate):
            return
        reason = not_an_image(candidate, tr)
        if reason is not None:
            raise Rejected(reason)


def is_image_file(message: Message) -> bool:
    """An image sent as a file (not a GIF: Telegram makes those MPEG-4 animations)."""
    document = message.document
    return (
        document is not None
        and message.animation is None
        and (document.mime_type or "").startswith("image/")
    )


def photo_source(message: Message) -> Message | None:
    """The message whose image the question is about: this one, or the one it replies to."""
    for candidate in (message, message.reply_to_message):
        if candidate is None:
            continue
        if candidate.photo or is_image_file(candidate):
            return candidate
    return None


@dataclass(frozen=True)
class PhotoRef:
    """Where the photo of a question is on Telegram (stored, so a restart can fetch it again)."""

    file_id: str
    filename: str
    content_type: str

    def as_options(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "filename": self.filename, "mime": self.content_type}

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PhotoRef | None:
        if not options.get("file_id"):
            return None
        return cls(options["file_id"], options.get("filename", "photo.jpg"), options["mime"])


def photo_ref(source: Message, tr: Translator) -> PhotoRef:
    """The photo's file reference, or Rejected when it is not one a bot can download."""
    name, mime = "photo.jpg", "image/jpeg"
    if source.photo:
        file_id, size = source.photo[-1].file_id, source.photo[-1].file_size
    elif source.document is not None:
        file_id, size = source.document.file_id, source.document.file_size
        name = source.document.file_name or "image"
        mime = source.document.mime_type or mime
    else:
        raise Rejected(tr.gettext("That message has no photo."))
    if size and size > DOWNLOAD_LIMIT:
        raise Rejected(
            tr.gettext(
                "That image is larger than 20 MB, which bots cannot download. Send a smaller one."
            )
        )
    return PhotoRef(file_id, name, mime)


async def download_image(bot: Bot, ref: PhotoRef, tr: Translator) -> Media:
    """The image's bytes through getFile, or JobFailed when Telegram will not hand them over."""
    try:
        file = await bot.get_file(ref.file_id)
        data = bytes(await file.download_as_bytearray())
    except TelegramError as error:
        log.warning("photo download failed: %s", error)
        raise JobFailed(
            tr.gettext("I could not download that photo from Telegram. Please send it again.")
        ) from None
    return Media(data=data, filename=ref.filename, content_type=ref.content_type)


# -- An edit's pictures --------------------------------------------------------------------

PICTURES = "pictures"
"""The key of a job's stored options that lists its input pictures (PhotoRef.as_options())."""

UNUSABLE = {
    Unusable.NOT_A_PICTURE: N_("That file is not a picture I can read. Send a photo."),
    Unusable.TOO_BIG: N_(
        "That image is larger than 20 MB, which bots cannot download. Send a smaller one."
    ),
    Unusable.TOO_LARGE_AFTER_FIT: N_(
        "That picture is too large for {model}, even made smaller. Send a smaller one."
    ),
    Unusable.TOO_MANY_PIXELS: N_("That picture has too many pixels to handle. Send a smaller one."),
}
"""What a user is told when one of their pictures cannot go up, by the reason."""


def refs_in(options: Mapping[str, Any]) -> tuple[PhotoRef, ...]:
    """The input pictures a job's stored options list (none for a job drawn from text)."""
    listed = options.get(PICTURES) or []
    refs = (PhotoRef.from_options(item) for item in listed if isinstance(item, dict))
    return tuple(ref for ref in refs if ref is not None)


def refs_of(messages: Sequence[Message], tr: Translator) -> tuple[PhotoRef, ...]:
    """Each message's picture, in the order given; Rejected (nothing started) for a message
    whose picture a bot cannot download or that is not a still picture."""
    refs: list[PhotoRef] = []
    for message in messages:
        if not (message.photo or is_image_file(message)):
            reason = not_an_image(message, tr) or tr.gettext(UNUSABLE[Unusable.NOT_A_PICTURE])
            raise Rejected(reason)
        refs.append(photo_ref(message, tr))
    return tuple(refs)


async def fitted_pictures(
    runtime: Runtime,
    bot: Bot,
    refs: Sequence[PhotoRef],
    limits: PictureLimits,
    model_id: str,
    tr: Translator,
) -> tuple[tuple[Media, ...], bool]:
    """The pictures downloaded (each once, through getFile) and fitted to ``limits`` (upright,
    converted, downscaled) in the order given, and whether one of them moved (its first frame
    is used); JobFailed with the reason in ``tr``'s language when one cannot be used. A job
    waits for a free :attr:`Runtime.fitting` slot first, so a burst never holds more decoded
    photos than there are cores."""
    fitted: list[Fitted] = []
    async with runtime.fitting:
        for ref in refs:
            media = await download_image(bot, ref, tr)
            try:
                fitted.append(
                    await asyncio.to_thread(
                        fit_picture, media.data, limits, filename=media.filename
                    )
                )
            except UnusablePicture as error:
                raise JobFailed(tr.gettext(UNUSABLE[error.code]).format(model=model_id)) from None
    return tuple(item.media for item in fitted), any(item.animated for item in fitted)
