"""What a repository talks to: one connection inside a read or a write transaction, the same
for SQLite and PostgreSQL. Queries use ``?`` placeholders and SQL both databases speak
(``INSERT ... ON CONFLICT``, ``RETURNING``, ``CASE``); :attr:`Sql.lock_rows` and
:attr:`Sql.claim_rows` are the one difference a query spells: PostgreSQL's row locks, which
SQLite's one writer makes needless."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Row(Protocol):
    """A result row: by position or by column name (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Sql(Protocol):
    """One connection, inside a read or inside a write's transaction."""

    dialect: str
    """``"sqlite"`` or ``"postgresql"``."""
    lock_rows: str
    """Appended to a SELECT that decides a write: ``" FOR UPDATE"`` or ``""``."""
    claim_rows: str
    """Appended to a SELECT of rows to take over: ``" FOR UPDATE SKIP LOCKED"`` or ``""``."""

    async def execute(self, query: str, *params: Any) -> int:
        """Runs one statement; the number of rows it changed."""

    async def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        """Runs one statement once per row of parameters."""

    async def fetch(self, query: str, *params: Any) -> list[Row]:
        """Every row the query returns."""

    async def fetchrow(self, query: str, *params: Any) -> Row | None:
        """The first row, or None."""


Operation = Callable[[Sql], Awaitable[T]]


class Backend(Protocol):
    """A database the repositories share: runs reads and writes (each write one transaction
    that completes even when its caller is cancelled)."""

    name: str
    """Where the data lives, for the operator's messages (a path, or a URL without password)."""
    busy_waits: int
    """How often a busy or unreachable database made a call wait."""

    async def read(self, operation: Operation[T]) -> T: ...

    async def write(self, operation: Operation[T]) -> T: ...

    async def schema_version(self) -> int: ...

    async def close(self) -> None: ...


async def completing(work: Awaitable[T]) -> T:
    """Awaits ``work`` to its end even when the caller is cancelled (the caller still sees the
    cancellation, after the work is done): a /cancel or a stop never leaves half a change."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
