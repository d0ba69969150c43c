"""Prompts being put up: the bot's questions whose answer is a reply ("What would you like to
know about this picture?"). A reply can come back before the bot has noted what it asked (a
fast client, a busy database); it then waits for the note instead of finding nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Asking:
    """The chats where a prompt is being sent and noted right now."""

    def __init__(self) -> None:
        self._done: dict[int, asyncio.Event] = {}
        self._count: dict[int, int] = {}

    @asynccontextmanager
    async def prompt(self, chat_id: int) -> AsyncIterator[None]:
        """Around sending a prompt to the chat and noting it."""
        self._count[chat_id] = self._count.get(chat_id, 0) + 1
        done = self._done.setdefault(chat_id, asyncio.Event())
        try:
            yield
        finally:
            self._count[chat_id] -= 1
            if not self._count[chat_id]:
                del self._count[chat_id]
                del self._done[chat_id]
                done.set()

    async def settled(self, chat_id: int) -> None:
        """Returns once no prompt is being put up in the chat."""
        done = self._done.get(chat_id)
        if done is not None:
            await done.wait()
