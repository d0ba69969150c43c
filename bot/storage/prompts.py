"""The bot's questions about a photo (the ❓ Ask button's ForceReply), kept for a day."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from bot.storage.sqlite import Database


class PromptsRepository(Database):
    """The bot's questions about a photo (the ❓ Ask button's ForceReply), kept for a day."""

    async def remember_photo_prompt(
        self, chat_id: int, message_id: int, photo: Mapping[str, Any], *, keep_for: float
    ) -> None:
        """Stores the photo (a ``PhotoRef.as_options()``) the bot's message ``message_id``
        asks about, and forgets prompts older than ``keep_for`` seconds."""
        now = time.time()

        async def write() -> None:
            await self._db.execute(
                "DELETE FROM photo_prompts WHERE created_at < ?", (now - keep_for,)
            )
            await self._db.execute(
                "INSERT OR REPLACE INTO photo_prompts (chat_id, message_id, photo, created_at)"
                " VALUES (?, ?, ?, ?)",
                (chat_id, message_id, json.dumps(dict(photo)), now),
            )

        await self._write(write)

    async def photo_prompt(
        self, chat_id: int, message_id: int, *, keep_for: float
    ) -> dict[str, Any] | None:
        """The photo the bot's message asks about, if it is a prompt younger than
        ``keep_for`` seconds."""

        async def read() -> dict[str, Any] | None:
            async with self._db.execute(
                "SELECT photo FROM photo_prompts"
                " WHERE chat_id = ? AND message_id = ? AND created_at >= ?",
                (chat_id, message_id, time.time() - keep_for),
            ) as cursor:
                row = await cursor.fetchone()
            return dict(json.loads(row[0])) if row else None

        return await self._read(read)
