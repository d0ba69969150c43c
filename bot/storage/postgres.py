"""The PostgreSQL backend (asyncpg): ``DATABASE_URL``, one database every replica shares.

It runs the same migrations as SQLite (with PostgreSQL's type names) under an advisory lock, so
replicas starting together migrate once. A lost connection, a restarting server or a
transaction PostgreSQL rolled back to break a tie is retried for up to ``RETRY_SECONDS``
(every write is one transaction, so a retried one starts from scratch); then
:class:`StorageError`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.storage.full import FullDisk
from bot.storage.records import StorageError
from bot.storage.schema import MIGRATIONS, check_version, for_postgres
from bot.storage.sql import Operation, Row, completing

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_SECONDS = 30.0
POOL_SIZE = 10
MIGRATION_LOCK = 7_020_020  # pg_advisory_xact_lock key: one replica migrates at a time

_TRANSIENT: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    asyncpg.exceptions.TransactionRollbackError,  # serialization failure, deadlock
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,  # the connection closed under us
    OSError,
    TimeoutError,
)


def without_password(url: str) -> str:
    """``url`` as logs and messages may show it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, "", ""))


@functools.lru_cache(maxsize=512)
def _numbered(query: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...``."""
    pieces = query.split("?")
    return pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))


class _Connection:
    """:class:`~bot.storage.sql.Sql` over one pooled asyncpg connection."""

    dialect = "postgresql"
    lock_rows = " FOR UPDATE"
    claim_rows = " FOR UPDATE SKIP LOCKED"

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, query: str, *params: Any) -> int:
        status: str = await self._connection.execute(_numbered(query), *params)
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._connection.executemany(_numbered(query), rows)

    async def fetch(self, query: str, *params: Any) -> list[Row]:
        return list(await self._connection.fetch(_numbered(query), *params))

    async def fetchrow(self, query: str, *params: Any) -> Row | None:
        row: Row | None = await self._connection.fetchrow(_numbered(query), *params)
        return row


class PostgresBackend:
    """A connection pool to ``DATABASE_URL``. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.name = without_password(url)
        self.busy_waits = 0  # how often an unreachable server made a call wait
        self.disk = FullDisk()  # a full disk, told to the operator once
        self._unreachable = False

    @classmethod
    async def open(cls, url: str) -> Self:
        """Connects (waiting up to ``RETRY_SECONDS`` for the server) and migrates.

        Raises StorageError, with one line for the operator, when the server cannot be reached
        or refuses us, or the schema is from a newer version of the bot."""
        name = without_password(url)
        deadline = asyncio.get_running_loop().time() + RETRY_SECONDS
        while True:
            try:
                pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE)
                break
            except _TRANSIENT as error:
                if asyncio.get_running_loop().time() > deadline:
                    raise StorageError(
                        f"The database {name} cannot be reached ({error or type(error).__name__})"
                        ": check DATABASE_URL and that PostgreSQL is running."
                    ) from None
                await asyncio.sleep(0.5)
            except (asyncpg.PostgresError, ValueError) as error:
                raise StorageError(f"The database {name} refused the bot ({error}).") from None
        backend = cls(pool, url)
        try:
            await backend.write(backend._migrate)
        except BaseException:
            await pool.close()
            raise
        return backend

    async def close(self) -> None:
        await self._pool.close()

    async def schema_version(self) -> int:
        async def read(sql: Any) -> int:
            row = await sql.fetchrow("SELECT max(version) FROM schema_version")
            return int(row[0]) if row and row[0] is not None else 0

        return await self.read(read)

    async def _migrate(self, sql: Any) -> None:
        await sql.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        await sql.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = await sql.fetchrow("SELECT max(version) FROM schema_version")
        version = int(row[0]) if row and row[0] is not None else 0
        check_version(version, self.name)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._connection_of(sql).execute(for_postgres(script))
            await sql.execute("INSERT INTO schema_version (version) VALUES (?)", number)
            log.info("database %s: schema upgraded to version %d", self.name, number)

    @staticmethod
    def _connection_of(sql: Any) -> asyncpg.Connection:
        """The raw connection, for a script of several statements (no parameters)."""
        connection: asyncpg.Connection = sql._connection
        return connection

    # Retries and transactions

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_SECONDS
        pause = 0.05
        while True:
            try:
                result = await attempt()
            except asyncpg.exceptions.DiskFullError as error:
                raise self.disk.failed(self.name, error) from error
            except _TRANSIENT as error:
                if loop.time() + pause > deadline:
                    raise StorageError(
                        f"The database {self.name} stayed unreachable for {RETRY_SECONDS:g} s "
                        f"({error or type(error).__name__})."
                    ) from error
                if not self._unreachable:
                    self._unreachable = True
                    log.warning(
                        "database %s: %s; retrying", self.name, error or type(error).__name__
                    )
                self.busy_waits += 1
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            except asyncpg.PostgresError as error:
                raise StorageError(
                    f"The database {self.name} refused a query ({error})."
                ) from error
            if self._unreachable:
                self._unreachable = False
                log.warning("database %s answers again", self.name)
            self.disk.worked(self.name)
            return result

    async def read(self, operation: Operation[T]) -> T:
        async def attempt() -> T:
            async with self._pool.acquire() as connection:
                return await operation(_Connection(connection))

        return await self._retrying(attempt)

    async def write(self, operation: Operation[T]) -> T:
        """Runs a write in its own transaction; it completes even if the caller is cancelled."""

        async def attempt() -> T:
            async with self._pool.acquire() as connection, connection.transaction():
                return await operation(_Connection(connection))

        return await completing(self._retrying(attempt))
