"""A status message that follows a job: edits coalesced (latest wins), paced, never fatal."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from .ratelimit import FloodControl

log = logging.getLogger(__name__)

BUDGET_RETRY = 0.5


def is_not_modified(error: TelegramError) -> bool:
    return "message is not modified" in str(error).lower()


def is_gone(error: TelegramError) -> bool:
    text = str(error).lower()
    return "message to edit not found" in text or "message to delete not found" in text


class LiveStatus:
    """Shows the newest text on one message, at most once per ``interval`` seconds.

    :meth:`show` never blocks: it only records the text, and a background task edits the
    message when the pacing and the chat's flood budget allow (results and replies come first),
    skipping texts that were superseded meanwhile.
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
        while not self.gone:
            await self._changed.wait()
            # The budget refills with time, not on an event, so it is checked again after a pause.
            while not self._flood_budget_spare():  # noqa: ASYNC110
                await asyncio.sleep(BUDGET_RETRY)
            self._changed.clear()
            await self._edit(self._wanted)
            await asyncio.sleep(self._interval)

    def _flood_budget_spare(self) -> bool:
        limiter = getattr(self._bot, "rate_limiter", None)
        return not isinstance(limiter, FloodControl) or limiter.spare(self._chat_id)

    async def _edit(self, text: str) -> None:
        if text == self._shown or self.gone:
            return
        try:
            await self._bot.edit_message_text(
                text, chat_id=self._chat_id, message_id=self.message_id
            )
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

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def finish(self, text: str) -> None:
        """Stops updating and leaves ``text`` as the final content (now, not paced)."""
        await self._stop()
        await self._edit(text)

    async def remove(self) -> bool:
        """Stops updating and deletes the message; False when it could not be deleted."""
        await self._stop()
        if self.gone:
            return True
        try:
            await self._bot.delete_message(self._chat_id, self.message_id)
        except TelegramError as error:
            return is_gone(error)
        self.gone = True
        return True
