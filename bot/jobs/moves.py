"""A group that became a supergroup: its settings and jobs follow it to the new chat id."""

from __future__ import annotations

import logging

from bot.runtime import Runtime

log = logging.getLogger(__name__)


async def move_chat(runtime: Runtime, old_chat_id: int, new_chat_id: int) -> None:
    """Moves the chat's stored models and its jobs (stored and running) to ``new_chat_id``.

    Safe to call more than once for the same move (Telegram reports it in both chats, and a
    send to the old chat reports it again).
    """
    if old_chat_id == new_chat_id:
        return
    log.info("chat %s became %s; moving its settings and jobs", old_chat_id, new_chat_id)
    await runtime.storage.move_chat(old_chat_id, new_chat_id)
    runtime.jobs.move_chat(old_chat_id, new_chat_id)
