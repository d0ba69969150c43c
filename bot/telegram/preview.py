"""The provider's preview pictures as one photo message, replaced as newer previews arrive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, InputMediaPhoto, Message, ReplyParameters
from telegram.error import TelegramError

from bot.i18n import N_
from bot.pictures.prepare import NotAPicture, prepare
from bot.telegram.status import delete
from providers import ProviderError

log = logging.getLogger(__name__)

PREVIEW_INTERVAL = 3.0
PREVIEW = N_("👀 Preview")


class LivePreview:
    """Latest-wins like the status message: :meth:`show` never blocks, a task does the sending."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        reply_to: int,
        fetch: Callable[[str | bytes], Awaitable[bytes]],
        caption: str = PREVIEW,
        thread_id: int | None = None,
    ) -> None:
        self._bot, self._chat_id, self._reply_to = bot, chat_id, reply_to
        self._thread_id = thread_id  # the forum topic of the command (it may be deleted by then)
        self._caption = caption
        self._fetch = fetch
        self._wanted: str | bytes | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._message: Message | None = None

    def show(self, image: str | bytes) -> None:
        self._wanted = image
        self._changed.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="preview")

    async def _run(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            if self._wanted is not None:
                with contextlib.suppress(ProviderError, TelegramError, NotAPicture):
                    await self._send(self._wanted)
            await asyncio.sleep(PREVIEW_INTERVAL)

    async def _send(self, image: str | bytes) -> None:
        data = await self._fetch(image)
        picture = await asyncio.to_thread(prepare, data, 0)
        if not picture.as_photo:
            return
        if self._message is None:
            self._message = await self._bot.send_photo(
                self._chat_id,
                picture.data,
                caption=self._caption,
                filename=picture.filename,
                reply_parameters=ReplyParameters(self._reply_to, allow_sending_without_reply=True),
                message_thread_id=self._thread_id,
            )
        else:
            media = InputMediaPhoto(picture.data, caption=self._caption, filename=picture.filename)
            await self._bot.edit_message_media(
                media, chat_id=self._chat_id, message_id=self._message.message_id
            )

    async def remove(self) -> None:
        """Stops and deletes the preview photo (the final images replace it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._message is not None:
            message, self._message = self._message, None
            with contextlib.suppress(TelegramError):
                await delete(self._bot, self._chat_id, message.message_id)
