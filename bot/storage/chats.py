"""Each chat's preferences (/model, /settings, /language) and a group's move to a supergroup."""

from __future__ import annotations

import time

from bot.storage.records import PREF_COLUMNS, ChatPrefs
from bot.storage.repository import Repository
from bot.storage.sql import Sql


class ChatsRepository(Repository):
    """Each chat's preferences (/model, /settings, /language) and a group's move to a supergroup."""

    async def get_prefs(self, chat_id: int) -> ChatPrefs:
        """The chat's stored preferences (all ``None`` when it never chose)."""

        async def read(db: Sql) -> ChatPrefs:
            row = await db.fetchrow(
                f"SELECT {', '.join(PREF_COLUMNS)} FROM chat_prefs WHERE chat_id = ?", chat_id
            )
            if row is None:
                return ChatPrefs()
            values = list(row)
            for flag in (6, 7):
                values[flag] = None if values[flag] is None else bool(values[flag])
            return ChatPrefs(*values)

        return await self._read(read)

    async def set_prefs(self, chat_id: int, **values: str | int | bool | None) -> None:
        """Stores the given preference columns for the chat, keeping the others."""
        allowed = set(PREF_COLUMNS)
        if not values or not set(values) <= allowed:
            raise ValueError(f"unknown preference: {set(values) - allowed}")
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values)
        stored = [int(v) if isinstance(v, bool) else v for v in values.values()]

        async def write(db: Sql) -> None:
            await db.execute(
                f"INSERT INTO chat_prefs (chat_id, {columns}, updated_at) VALUES (?, {marks}, ?)"
                f" ON CONFLICT(chat_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
                chat_id,
                *stored,
                time.time(),
            )

        await self._write(write)

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its preferences and jobs now belong to the new id.

        Preferences the new chat already has are kept (the move may be reported twice).
        """

        async def write(db: Sql) -> None:
            columns = ", ".join(PREF_COLUMNS)
            await db.execute(
                f"INSERT INTO chat_prefs (chat_id, {columns}, updated_at)"
                f" SELECT ?, {columns}, updated_at FROM chat_prefs WHERE chat_id = ?"
                " ON CONFLICT DO NOTHING",
                new_chat_id,
                old_chat_id,
            )
            await db.execute("DELETE FROM chat_prefs WHERE chat_id = ?", old_chat_id)
            await db.execute(
                "UPDATE jobs SET chat_id = ? WHERE chat_id = ? AND NOT EXISTS (SELECT 1 FROM"
                " jobs AS moved WHERE moved.chat_id = ? AND moved.kind = jobs.kind"
                " AND moved.command_message_id = jobs.command_message_id)",
                new_chat_id,
                old_chat_id,
                new_chat_id,
            )

        await self._write(write)
