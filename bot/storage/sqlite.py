"""The SQLite backend (aiosqlite, WAL): the default, a file in DATA_DIR.

It fails loudly and safely: a locked database is waited for (briefly, then retried with
backoff), a corrupt, unreadable or newer-schema file raises :class:`StorageError` with one line
to show the operator, every write completes even when its caller is cancelled, and the files
are created readable by their owner only.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

from bot.storage.full import FullDisk, is_full
from bot.storage.records import StorageError
from bot.storage.schema import MIGRATIONS, check_version
from bot.storage.sql import Operation, Row, completing

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 1000  # SQLite's own wait for a lock, per attempt
LOCKED_RETRY_SECONDS = 30.0  # then our retries with backoff, in all


def _locked(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _explain(path: Path, error: sqlite3.Error) -> str:
    """One line telling the operator what is wrong with the database file and what to do."""
    reason = str(error)
    lowered = reason.lower()
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return (
            f"The database {path} is damaged ({reason}): restore a backup, "
            "or move the file away to start with an empty one."
        )
    if "database or disk is full" in lowered:
        return f"The disk holding the database {path} is full ({reason}): free some space."
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return (
            f"The database {path} cannot be written ({reason}): check that DATA_DIR and its files "
            "are writable by this user and that the disk is not read-only or full."
        )
    return f"The database {path} cannot be used ({reason})."


def _probe(path: Path) -> None:
    """Opens and closes the file with sqlite3, raising its error if it cannot be opened."""
    sqlite3.connect(path).close()


def owner_only(path: Path) -> None:
    """Makes ``path`` readable and writable by its owner only (a directory: also listable)."""
    if path.exists():
        path.chmod(0o700 if path.is_dir() else 0o600)


class _Connection:
    """:class:`~bot.storage.sql.Sql` over the one aiosqlite connection."""

    dialect = "sqlite"
    lock_rows = ""
    claim_rows = ""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    # One trip to aiosqlite's thread each: the cursors are left to the garbage collector.

    async def execute(self, query: str, *params: Any) -> int:
        cursor = await self._db.execute(query, params)
        return cursor.rowcount

    async def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._db.executemany(query, rows)

    async def fetch(self, query: str, *params: Any) -> list[Row]:
        return list(await self._db.execute_fetchall(query, params))

    async def fetchrow(self, query: str, *params: Any) -> Row | None:
        rows = await self.fetch(query, *params)
        return rows[0] if rows else None


class SqliteBackend:
    """The database file in DATA_DIR. Open with :meth:`open`, close with :meth:`close`.

    Writes go one at a time through one connection, each in its own transaction; a locked
    database is retried for up to ``LOCKED_RETRY_SECONDS`` before :class:`StorageError`.
    """

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self._sql = _Connection(db)
        self._path = path
        self.name = str(path)
        self._write_lock = asyncio.Lock()
        self.busy_waits = 0  # how often a locked database made us wait (tests watch this)
        self.disk = FullDisk()  # a full disk, told to the operator once

    @classmethod
    async def open(cls, path: Path) -> Self:
        """Opens (creating and migrating as needed) the database at ``path``.

        Raises StorageError, with one line for the operator, when the file is damaged,
        unreadable, read-only, or from a newer version of the bot.
        """
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"Cannot create DATA_DIR {path.parent}: {error}") from None
        try:
            # A plain probe first: aiosqlite's worker thread outlives a failed connect.
            await asyncio.to_thread(_probe, path)
            db = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as error:
            raise StorageError(_explain(path, error)) from None
        storage = cls(db, path)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            check_version(await storage.schema_version(), str(path))
            async with db.execute("PRAGMA quick_check") as cursor:
                verdict = [row[0] for row in await cursor.fetchall()]
            if verdict != ["ok"]:
                raise StorageError(
                    f"The database {path} is damaged ({'; '.join(verdict[:3])}): restore a "
                    "backup, or move the file away to start with an empty one."
                )
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await storage._migrate()
            for suffix in ("", "-wal", "-shm"):
                owner_only(path.with_name(path.name + suffix))
        except sqlite3.Error as error:
            await db.close()
            raise StorageError(_explain(path, error)) from None
        except BaseException:
            await db.close()
            raise
        return storage

    async def close(self) -> None:
        await self._db.close()

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        version = await self.schema_version()
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._db.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    # Locks, retries and cancellation

    async def _retrying(self, operation: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCKED_RETRY_SECONDS
        pause = 0.05
        while True:
            try:
                return await operation()
            except sqlite3.Error as error:
                if is_full(error):
                    raise self.disk.failed(self._path, error) from error
                if not _locked(error):
                    raise StorageError(_explain(self._path, error)) from error
                if loop.time() + pause > deadline:
                    raise StorageError(
                        f"The database {self._path} stayed locked for "
                        f"{LOCKED_RETRY_SECONDS:g} s; is another program holding it?"
                    ) from error
                self.busy_waits += 1
                log.warning("database is locked; retrying in %.2f s", pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)

    async def read(self, operation: Operation[T]) -> T:
        return await self._retrying(lambda: operation(self._sql))

    async def write(self, operation: Operation[T]) -> T:
        """Runs a write in its own transaction; it completes even if the caller is cancelled."""

        async def locked() -> T:
            async with self._write_lock:
                result = await self._retrying(self._committed(operation))
            self.disk.worked(self._path)
            return result

        return await completing(locked())

    def _committed(self, operation: Operation[T]) -> Callable[[], Awaitable[T]]:
        async def run() -> T:
            try:
                result = await operation(self._sql)
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise
            return result

        return run
