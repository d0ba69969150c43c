"""Shared job plumbing: the chat action heartbeat, elapsed-time ticker and the job log line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot.telegram.status import flood_control

log = logging.getLogger("bot.jobs")

CHAT_ACTION_PERIOD = 4.5  # Telegram shows an action for about five seconds.


@contextlib.asynccontextmanager
async def repeating(
    period: float, action: Callable[[], Awaitable[None]], *, first_now: bool
) -> AsyncIterator[None]:
    """Runs ``action`` every ``period`` seconds while the block runs (at once if ``first_now``)."""

    async def repeat() -> None:
        if not first_now:
            await asyncio.sleep(period)
        while True:
            await action()
            await asyncio.sleep(period)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def chat_action(
    bot: Bot, chat_id: int, action: str, thread_id: int | None = None
) -> AbstractAsyncContextManager[None]:
    """Shows ``action`` ("upload_photo", "typing") in the chat (in forum topic ``thread_id``) as
    the block starts, and again every few seconds while it runs, except while the bot's flood
    control holds messages back (for this chat, or answers and results anywhere): the status
    message already tells the user, and under load each repetition costs CPU that the waiting
    messages need. A chat that blocked or removed the bot is not asked again."""
    flood = flood_control(bot)
    first = True
    refused = False

    async def send() -> None:
        nonlocal first, refused
        if refused or (not first and flood is not None and flood.busy(chat_id)):
            return
        first = False
        try:
            await bot.send_chat_action(chat_id, action, message_thread_id=thread_id)
        except Forbidden:
            refused = True
        except TelegramError:
            pass

    return repeating(CHAT_ACTION_PERIOD, send, first_now=True)


def ticker(period: float, tick: Callable[[], None]) -> AbstractAsyncContextManager[None]:
    """Calls ``tick`` every ``period`` seconds while the block runs (to refresh elapsed time)."""

    async def call() -> None:
        tick()

    return repeating(period, call, first_now=False)


class Clock:
    """Seconds since the job started running (``start`` is on the event loop's clock)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def reset(self) -> None:
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


def log_job(
    job_id: int,
    kind: str,
    chat_id: int,
    model: str,
    seconds: float,
    outcome: str,
    *,
    provider: str | None = None,
    stage: str | None = None,
    code: str | None = None,
    reason: str | None = None,
    prompt: str | None = None,
    level: int = logging.INFO,
) -> None:
    """The one line that says how a job ended: ``outcome`` (delivered, refused, failed,
    cancelled, ...), where it got to (``stage``), the failure's ``code`` and ``reason`` (a
    sentence safe to show), and the ``prompt`` only when the operator asked for prompts in the
    logs (LOG_PROMPTS). The fields also go with the record (``extra``) for LOG_FORMAT=json."""
    fields: dict[str, object] = {
        "job": job_id,
        "kind": kind,
        "chat": chat_id,
        "model": model,
        "provider": provider,
        "outcome": outcome,
        "code": code,
        "stage": stage,
        "duration": round(seconds, 3),
    }
    text = (
        f"job={job_id} kind={kind} chat={chat_id} model={model} provider={provider or '-'} "
        f"stage={stage or '-'} duration={seconds:.1f}s outcome={outcome}"
    )
    if code:
        text += f" code={code}"
    if reason:
        fields["reason"] = reason
        text += f" reason={json.dumps(reason, ensure_ascii=False)}"
    if prompt is not None:
        fields["prompt"] = prompt
        text += f" prompt={json.dumps(prompt, ensure_ascii=False)}"
    log.log(level, "%s", text, extra=fields)
