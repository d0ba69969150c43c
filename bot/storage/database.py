"""The one storage the bot calls: a repository per concern over one backend, SQLite (a file in
DATA_DIR, the default) or PostgreSQL (``DATABASE_URL``, shared by replicas)."""

from __future__ import annotations

from pathlib import Path

from bot.storage.chats import ChatsRepository
from bot.storage.credits import CreditsRepository
from bot.storage.health import HealthRepository
from bot.storage.jobs import JobsRepository
from bot.storage.pace import PaceRepository
from bot.storage.parcels import ParcelsRepository
from bot.storage.prompts import PromptsRepository
from bot.storage.replicas import ReplicasRepository


class Storage(
    ChatsRepository,
    JobsRepository,
    HealthRepository,
    PromptsRepository,
    PaceRepository,
    CreditsRepository,
    ReplicasRepository,
    ParcelsRepository,
):
    """Open with :meth:`open`, close with :meth:`close`. All methods are coroutine-safe.

    Every write is one transaction that finishes even if the coroutine that asked for it is
    cancelled (a /cancel or a shutdown never leaves half a change); a busy or unreachable
    database is waited for (30 s) before :class:`~bot.storage.records.StorageError`.
    """

    @classmethod
    async def open(cls, where: Path | str) -> Storage:
        """The database at ``where``: a SQLite file's path, or a ``postgresql://`` URL.

        Creates and migrates it as needed; raises StorageError with one line for the operator
        when it cannot be used."""
        address = str(where)
        if address.startswith(("postgresql://", "postgres://")):
            from bot.storage.postgres import PostgresBackend

            return cls(await PostgresBackend.open(address))
        from bot.storage.sqlite import SqliteBackend

        return cls(await SqliteBackend.open(Path(where)))
