"""A reply that grows in a private chat while the model writes it: Telegram's message drafts.

``sendMessageDraft`` (Bot API 9.3, open to every bot since 9.5) shows a text in a private chat
as a message being written; changes of a draft with the same ``draft_id`` (non-zero) are
animated. A draft is ephemeral, a preview that lasts about 30 seconds after its last change:
the answer itself is then sent with ``sendMessage``, which takes the draft's place. Groups and
channels have no drafts (Telegram answers 400 ``TEXTDRAFT_PEER_INVALID``).

:class:`DraftStream` paces the updates like :class:`bot.status.LiveStatus` paces status edits:
:meth:`~DraftStream.show` only records the newest text, and a background task sends it when
the pacing and the spare flood budget allow (status priority: answers and results go first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from telegram import Bot, MessageEntity
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from bot.telegram.flood import Permit, Priority, sending_as
from bot.telegram.status import flood_control

log = logging.getLogger(__name__)

KEEP_ALIVE = 20.0  # seconds: a draft unchanged this long is sent again before it fades (~30 s)

Rendered = tuple[str, list[MessageEntity]]  # a draft's text and its formatting

_refused: set[str] = set()  # tokens of the bots Telegram refused drafts to, in this process


def drafts_possible(bot: Bot, chat_id: int) -> bool:
    """Whether a growing answer for this chat should be a draft: a private chat, and Telegram
    has not refused this bot drafts since the process started."""
    return chat_id > 0 and bot.token not in _refused


def refused(error: TelegramError) -> bool:
    """Whether a failed draft means Telegram will not take drafts from this bot: any 400 (the
    method is not offered to this bot or this chat, or it refuses what we send), or 404 (a Bot
    API server older than drafts; python-telegram-bot calls a 404 InvalidToken)."""
    return isinstance(error, BadRequest | InvalidToken)


class DraftStream:
    """One growing answer in a private chat, at most one update per ``interval`` seconds.

    ``render`` turns the newest recorded text into what the draft shows (``None``: nothing to
    show yet); it runs only when an update goes out, so recording every streamed piece is cheap.
    If Telegram refuses the draft, the stream stops, the refusal is remembered for the process
    (see :func:`drafts_possible`) and ``on_refused`` is called, once.
    """

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        draft_id: int,
        *,
        interval: float,
        render: Callable[[str], Rendered | None],
        on_refused: Callable[[], None],
        thread_id: int | None = None,
    ) -> None:
        if not draft_id:
            raise ValueError("draft_id must be non-zero")
        self._bot = bot
        self._chat_id = chat_id
        self._thread_id = thread_id
        self._draft_id = draft_id
        self._interval = interval
        self._render = render
        self._on_refused = on_refused
        self._wanted = ""
        self._shown: Rendered | None = None
        self._placeholder = False  # the empty draft ("Thinking…") is due
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: asyncio.Task[None] | None = None
        self.refused = False
        self.stopped = False

    def show(self, text: str) -> None:
        """Asks for ``text`` (rendered) to be the draft soon."""
        if self.stopped:
            return
        self._wanted = text
        self._changed.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"draft-{self._draft_id}")

    def restart(self, draft_id: int) -> None:
        """From now on the text goes to a new draft (a different answer, not a continuation);
        a draft already shown gives way to Telegram's "Thinking…" placeholder meanwhile."""
        if not draft_id:
            raise ValueError("draft_id must be non-zero")
        self._draft_id = draft_id
        self._placeholder = self._shown is not None
        self._wanted, self._shown = "", None
        if self._placeholder:
            self.show("")

    async def close(self) -> None:
        """Stops updating; an update already on its way to Telegram is waited for, so that
        nothing changes the draft after the caller's final message."""
        self.stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._in_flight is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._in_flight
            self._in_flight = None

    async def _run(self) -> None:
        flood = flood_control(self._bot)
        while not self.stopped:
            try:
                await asyncio.wait_for(self._changed.wait(), KEEP_ALIVE)
                again = False
            except TimeoutError:
                again = True  # nothing new for a while: show the same text before it fades
            # The answer's first text is like a first answer; its growth is a status update.
            priority = Priority.RESULT if self._shown is None else Priority.STATUS
            permit = (
                await flood.turn("sendMessageDraft", self._chat_id, priority)
                if flood is not None
                else None
            )
            self._changed.clear()
            self._in_flight = asyncio.create_task(self._update(permit, again=again))
            await asyncio.shield(self._in_flight)
            await asyncio.sleep(self._interval)

    async def _update(self, permit: Permit | None, *, again: bool) -> None:
        """Sends the newest text under ``permit`` (the same text only when ``again``)."""
        with permit if permit is not None else contextlib.nullcontext():
            rendered = self._render(self._wanted) if self._wanted.strip() else None
            if rendered is None and self._placeholder:
                rendered = ("", [])
            if rendered is None or (rendered == self._shown and not again):
                return
            self._placeholder = False
            with sending_as(Priority.STATUS):  # a 429's retry waits as a status update
                await self._send(rendered)

    async def _send(self, rendered: Rendered) -> None:
        text, entities = rendered
        self._shown = rendered  # from now on (a restart meanwhile must clear it)
        try:
            await self._bot.send_message_draft(
                self._chat_id,
                self._draft_id,
                # No text is the placeholder. Not "": with Defaults, python-telegram-bot 22.8
                # takes an empty string for an empty list of poll options and sends "[]".
                text or None,
                message_thread_id=self._thread_id,
                entities=entities or None,
            )
        except TelegramError as error:
            self._shown = None
            self._failed(error)

    def _failed(self, error: TelegramError) -> None:
        if isinstance(error, RetryAfter):  # a ban longer than flood control waits out
            log.warning("draft updates stop: %s", error)
            self.stopped = True
        elif isinstance(error, Forbidden | ChatMigrated):
            self.stopped = True
        elif not refused(error):
            log.warning("draft update failed: %s", error)
        else:
            log.warning("Telegram refused a message draft (%s); answers grow by edits", error)
            _refused.add(self._bot.token)
            self.refused = self.stopped = True
            self._on_refused()
