"""What every repository shares: the backend its reads and writes go through."""

from __future__ import annotations

from typing import TypeVar

from bot.storage.sql import Backend, Operation

T = TypeVar("T")


class Repository:
    """Reads and writes through one :class:`~bot.storage.sql.Backend` (SQLite or PostgreSQL)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def _read(self, operation: Operation[T]) -> T:
        return await self.backend.read(operation)

    async def _write(self, operation: Operation[T]) -> T:
        """One transaction; it completes even if the caller is cancelled."""
        return await self.backend.write(operation)

    async def close(self) -> None:
        await self.backend.close()

    async def schema_version(self) -> int:
        return await self.backend.schema_version()

    @property
    def busy_waits(self) -> int:
        """How often a busy or unreachable database made a call wait."""
        return self.backend.busy_waits
