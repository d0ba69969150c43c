"""A status message that follows a job: edits coalesced (latest wins), paced, never fatal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, InputMediaDocument, InputMediaPhoto
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from bot.telegram.flood import FloodControl, Priority, inline_chat_key, sending_as

log = logging.getLogger(__name__)

DELETE_BATCH = 100  # deleteMessages takes at most 100 ids


def is_not_modified(error: TelegramError) -> bool:
    return "message is not modified" in str(error).lower()


async def redraw_menu(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    """Shows ``text`` and ``markup`` on the message whose button was pressed; pressing a button
    that changes nothing is fine (Telegram's "message is not modified")."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if not is_not_modified(error):
            raise


def is_gone(error: TelegramError) -> bool:
    text = str(error).lower()
    return (
        "message to edit not found" in text
        or "message to delete not found" in text
        or "message_id_invalid" in text  # an inline message that no longer exists
    )


def flood_control(bot: Bot) -> FloodControl | None:
    """The bot's :class:`FloodControl`, if it has one."""
    limiter = getattr(bot, "rate_limiter", None)
    return limiter if isinstance(limiter, FloodControl) else None


class LiveStatus:
    """Shows the newest text on one message, at most once per ``interval`` seconds.

    :meth:`show` never blocks: it only records the text, and a background task edits the
    message when the pacing and spare flood budget allow (answers, results and clean-up come
    first), with the text that is newest at that moment.
    If the user deleted the message, updates stop silently; the job carries on.
    """

    def __init__(
        self, bot: Bot, chat_id: int, message_id: int, interval: float, shown: str = ""
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._message_id = message_id
        self._interval = interval
        self._shown = shown
        self._wanted = self._shown
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.gone = False

    @property
    def message_id(self) -> int:
        return self._message_id

    def abandon(self) -> None:
        """The message can no longer be changed (its chat moved or is gone): stop trying."""
        self.gone = True

    def show(self, text: str) -> None:
        """Asks for ``text`` to be displayed soon."""
        self._wanted = text
        self._changed.set()
        if self._task is None and not self.gone:
            self._task = asyncio.create_task(self._run(), name=f"status-{self.message_id}")

    async def _run(self) -> None:
        flood = flood_control(self._bot)
        while not self.gone:
            await self._changed.wait()
            permit = (
                await flood.turn("editMessageText", self._chat_id, Priority.STATUS)
                if flood is not None
                else contextlib.nullcontext()
            )
            with permit:
                self._changed.clear()
                await self._edit(self._wanted)
            await asyncio.sleep(self._interval)

    async def _edit(self, text: str) -> None:
        if text == self._shown or self.gone:
            return
        try:
            await self._put(text)
            self._shown = text
        except BadRequest as error:
            if is_not_modified(error):
                self._shown = text
            elif is_gone(error):
                self.gone = True
            else:
                log.warning("status edit failed: %s", error)
        except (ChatMigrated, Forbidden):
            self.gone = True
        except TelegramError as error:
            log.warning("status edit failed: %s", error)

    async def _put(self, text: str) -> None:
        await self._bot.edit_message_text(text, chat_id=self._chat_id, message_id=self.message_id)

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def finish(self, text: str) -> None:
        """Stops updating and leaves ``text`` as the final content (now, not paced)."""
        await self._stop()
        with sending_as(Priority.RESULT):
            await self._edit(text)

    async def remove(self) -> bool:
        """Stops updating and deletes the message; False when it could not be deleted."""
        await self._stop()
        if self.gone:
            return True
        try:
            await delete(self._bot, self._chat_id, self.message_id)
        except TelegramError as error:
            return is_gone(error)
        self.gone = True
        return True


def headed(heading: str, text: str) -> str:
    """An inline message's text: what was asked for, then ``text`` (its status or outcome)."""
    return f"{heading}\n{text}" if heading and text else heading or text


class InlineStatus(LiveStatus):
    """A status that lives in a message sent through inline mode, edited by its id.

    Paced and flood-controlled like any status (each inline message counts as a chat of its
    own, see :func:`bot.ratelimit.inline_chat_key`); every text comes under ``heading`` and
    above ``markup``, until :meth:`finish` leaves the last words without the keyboard or
    :meth:`become` turns the message into the result. An inline message cannot be deleted, so
    :meth:`remove` only stops the updates.
    """

    def __init__(
        self,
        bot: Bot,
        inline_message_id: str,
        interval: float,
        *,
        heading: str = "",
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        super().__init__(bot, inline_chat_key(inline_message_id), 0, interval)
        self.inline_message_id = inline_message_id
        self._heading = heading
        self._markup = markup

    async def _put(self, text: str) -> None:
        await self._bot.edit_message_text(
            headed(self._heading, text),
            inline_message_id=self.inline_message_id,
            reply_markup=self._markup,
        )

    async def finish(self, text: str) -> None:
        self._markup = None
        await super().finish(text)

    async def become(
        self,
        media: InputMediaPhoto | InputMediaDocument,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Stops the text updates and makes the message show ``media`` (by file_id or URL:
        Telegram takes no upload for an inline message) with ``markup`` under it; raises
        TelegramError if refused."""
        await self._stop()
        with sending_as(Priority.RESULT):
            await self._bot.edit_message_media(
                media, inline_message_id=self.inline_message_id, reply_markup=markup
            )
        self.gone = True  # the picture is the answer: nothing more to say

    async def remove(self) -> bool:
        await self._stop()
        return True


@dataclass(eq=False)
class _Batch:
    ids: list[int]
    done: asyncio.Future[None]
    task: asyncio.Task[None] | None = field(default=None, repr=False)


_batches: dict[tuple[int, int], _Batch] = {}  # (id of the bot, chat) -> deletions not yet sent


async def delete(bot: Bot, chat_id: int, message_id: int) -> None:
    """Deletes one of the bot's messages; raises TelegramError when Telegram refuses.

    A deletion counts against the chat's and the overall flood budget (Telegram does not say
    it is free); in groups, whose budget is 20 a minute, deletions waiting for budget are sent
    together, up to a hundred in one ``deleteMessages`` call.
    """
    flood = flood_control(bot)
    if flood is None or chat_id > 0:
        await bot.delete_message(chat_id, message_id)
        return
    key = (id(bot), chat_id)
    batch = _batches.get(key)
    if batch is None or batch.done.done() or len(batch.ids) >= DELETE_BATCH:
        batch = _batches[key] = _Batch([], asyncio.get_running_loop().create_future())
        batch.done.add_done_callback(lambda done: done.cancelled() or done.exception())
        batch.task = asyncio.create_task(_send_batch(bot, flood, key, batch))
    batch.ids.append(message_id)
    await asyncio.shield(batch.done)


async def _send_batch(bot: Bot, flood: FloodControl, key: tuple[int, int], batch: _Batch) -> None:
    chat_id = key[1]
    try:
        with await flood.turn("deleteMessages", chat_id, Priority.CLEANUP):
            if _batches.get(key) is batch:
                del _batches[key]  # deletions from now on start the next batch
            await bot.delete_messages(chat_id, batch.ids)
    except TelegramError as error:
        batch.done.set_exception(error)
    except BaseException:
        batch.done.cancel()
        raise
    else:
        batch.done.set_result(None)
    finally:
        if _batches.get(key) is batch:
            del _batches[key]
