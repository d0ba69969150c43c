"""The bot's questions about a photo (the ❓ Ask button's ForceReply), kept for a day."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from bot.storage.repository import Repository
from bot.storage.sql import Sql


class PromptsRepository(Repository):
    """The bot's questions about a photo (the ❓ Ask button's ForceReply), kept for a day."""

    async def remember_photo_prompt(
        self, chat_id: int, message_id: int, photo: Mapping[str, Any], *, keep_for: float
    ) -> None:
        """Stores the photo (a ``PhotoRef.as_options()``) the bot's message ``message_id``
        asks about, and forgets prompts older than ``keep_for`` seconds."""
        now = time.time()

        async def write(db: Sql) -> None:
            await db.execute("DELETE FROM photo_prompts WHERE created_at < ?", now - keep_for)
            await db.execute(
                "INSERT INTO photo_prompts (chat_id, message_id, photo, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO UPDATE SET"
                " photo = excluded.photo, created_at = excluded.created_at",
                chat_id,
                message_id,
                json.dumps(dict(photo)),
                now,
            )

        await self._write(write)

    async def photo_prompt(
        self, chat_id: int, message_id: int, *, keep_for: float
    ) -> dict[str, Any] | None:
        """The photo the bot's message asks about, if it is a prompt younger than
        ``keep_for`` seconds."""

        async def read(db: Sql) -> dict[str, Any] | None:
            row = await db.fetchrow(
                "SELECT photo FROM photo_prompts"
                " WHERE chat_id = ? AND message_id = ? AND created_at >= ?",
                chat_id,
                message_id,
                time.time() - keep_for,
            )
            return dict(json.loads(row[0])) if row else None

        return await self._read(read)
