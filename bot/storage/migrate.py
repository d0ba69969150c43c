"""``python -m bot migrate-db``: copies every table of one database into another (SQLite to
PostgreSQL, or back), then counts each table on both sides.

Both databases are opened with :meth:`Storage.open`, so both are migrated to this version's
schema first. The source is read inside one read-only transaction (SQLite's WAL snapshot,
PostgreSQL's REPEATABLE READ), so the copy is the state of one moment even while a bot writes
to it; what the bot writes after that moment is not copied, so stop the bot before migrating.
Rows are copied in batches by primary key with ``ON CONFLICT (key) DO NOTHING``: running it again
copies nothing twice and never changes a row the target already has; a copy that stopped half
way is completed by running it again. PostgreSQL's identity sequences are then moved past the
largest id copied, so rows the bot adds later get new ids.

From SQLite to PostgreSQL, what one process keeps as files beside its database (the pictures
waiting for Telegram in DATA_DIR/outbox, the originals behind 📎 in DATA_DIR/originals) moves
into the tables where replicas read them, and is counted like a table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.storage.database import Storage
from bot.storage.originals import DatabaseOriginals, FileOriginals
from bot.storage.outbox import DatabaseOutbox, FileOutbox
from bot.storage.postgres import without_password
from bot.storage.records import StorageError
from bot.storage.sql import Operation, Row, Sql

T = TypeVar("T")

BATCH = 1000  # rows per read of the source and per write of the target
BOOKKEEPING = frozenset({"schema_version"})  # each backend keeps its own
SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")

OK, FAILED, BAD_ARGUMENTS = 0, 1, 2  # run_migrate's exit statuses


class MigrationError(StorageError):
    """A database address that cannot be migrated from or to; ``str(error)`` is one line."""


@dataclass(frozen=True)
class TableCount:
    """One table's rows in the source and in the target after the copy."""

    table: str
    source: int
    target: int

    @property
    def complete(self) -> bool:
        """Whether the target has at least as many rows as the source."""
        return self.target >= self.source


@dataclass(frozen=True)
class Table:
    """A table as the copy sees it: its columns in order and its primary key's columns."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    def page(self, *, first: bool) -> str:
        """The SELECT of one batch in key order: the first, or the one after a key (``?``s:
        the previous batch's last key, then the batch size)."""
        key = ", ".join(map(quoted, self.key))
        after = "" if first else f" WHERE ({key}) > ({', '.join('?' for _ in self.key)})"
        columns = ", ".join(map(quoted, self.columns))
        return f"SELECT {columns} FROM {quoted(self.name)}{after} ORDER BY {key} LIMIT ?"

    def insert(self) -> str:
        """The INSERT of one row that leaves a row with the same key as it is."""
        columns = ", ".join(map(quoted, self.columns))
        marks = ", ".join("?" for _ in self.columns)
        key = ", ".join(map(quoted, self.key))
        return (
            f"INSERT INTO {quoted(self.name)} ({columns}) VALUES ({marks})"
            f" ON CONFLICT ({key}) DO NOTHING"
        )

    def last_key(self, row: Row) -> tuple[Any, ...]:
        """The key of ``row`` (a row of :meth:`page`)."""
        return tuple(row[self.columns.index(column)] for column in self.key)


def quoted(name: str) -> str:
    """``name`` as an SQL identifier both databases read literally."""
    return '"' + name.replace('"', '""') + '"'


# Addresses


def shown(address: str) -> str:
    """``address`` as the operator may see it (never a password)."""
    return address if address.startswith(SQLITE_PREFIX) else without_password(address)


def parse_address(address: str, *, must_exist: bool = False) -> Path | str:
    """What :meth:`Storage.open` takes for ``address``: the Path of ``sqlite:///abs/path``, or
    the ``postgresql://`` URL itself. Raises :class:`MigrationError` for any other address, and
    with ``must_exist`` for a SQLite file that does not exist (opening would create it)."""
    if address.startswith(POSTGRES_PREFIXES):
        return address
    if not address.startswith(SQLITE_PREFIX) or address == SQLITE_PREFIX:
        raise MigrationError(
            f"Unknown database address {shown(address)!r}: give sqlite:///absolute/path/to/"
            "bot.sqlite3 or postgresql://user:password@host:port/database."
        )
    path = Path(address.removeprefix("sqlite://"))
    if must_exist and not path.is_file():
        raise MigrationError(f"The source database {path} does not exist.")
    return path


async def open_pair(source: str, target: str) -> tuple[Storage, Storage]:
    """The source and target databases, open and migrated to this version's schema.

    Raises :class:`~bot.storage.records.StorageError` (one line) when an address is wrong,
    the source file does not exist, both are the same database, or one cannot be opened."""
    source_at = parse_address(source, must_exist=True)
    target_at = parse_address(target)
    if _same(source_at, target_at):
        raise MigrationError(f"The source and the target are the same database ({shown(source)}).")
    source_db = await Storage.open(source_at)
    try:
        return source_db, await Storage.open(target_at)
    except BaseException:
        await source_db.close()
        raise


def _same(source: Path | str, target: Path | str) -> bool:
    if isinstance(source, Path) and isinstance(target, Path):
        return source.resolve() == target.resolve()
    if isinstance(source, str) and isinstance(target, str):
        return without_password(source) == without_password(target)
    return False


# The copy


async def copy_database(source: str, target: str, *, batch: int = BATCH) -> list[TableCount]:
    """Copies every table of the database at ``source`` into the one at ``target`` (addresses
    as :func:`parse_address` takes them) and counts both; see :func:`copy_storage`.

    Raises :class:`~bot.storage.records.StorageError` (one line) when a database cannot be
    opened or the copy stops."""
    source_db, target_db = await open_pair(source, target)
    try:
        return await copy_storage(source_db, target_db, batch=batch)
    finally:
        await _close(source_db, target_db)


async def copy_storage(source: Storage, target: Storage, *, batch: int = BATCH) -> list[TableCount]:
    """Copies every table of ``source`` into ``target`` (``batch`` rows at a time, rows whose
    key the target has are left as they are), then moves the target's identity sequences past
    the ids copied; each table's rows: in the source (at the moment the copy read) and in the
    target (after it)."""

    async def copy(db: Sql) -> dict[str, int]:
        counts = {}
        for table in await list_tables(db):
            await _copy_table(db, table, target, batch)
            counts[table.name] = await _count(db, table.name)
        return counts

    source_counts = await source.backend.read(_in_snapshot(copy))
    await target.backend.write(advance_identities)
    return await _compared(source_counts, target)


async def verify(source: Storage, target: Storage) -> list[TableCount]:
    """Each table of ``source`` with its rows in ``source`` and in ``target`` now."""

    async def count(db: Sql) -> dict[str, int]:
        return {table.name: await _count(db, table.name) for table in await list_tables(db)}

    return await _compared(await source.backend.read(_in_snapshot(count)), target)


async def _compared(source_counts: dict[str, int], target: Storage) -> list[TableCount]:
    async def count(db: Sql) -> list[TableCount]:
        return [
            TableCount(name, rows, await _count(db, name)) for name, rows in source_counts.items()
        ]

    return await target.backend.read(count)


async def _copy_table(db: Sql, table: Table, target: Storage, batch: int) -> None:
    """Copies ``table`` from the source ``db`` into ``target``, one write per batch."""
    rows = await db.fetch(table.page(first=True), batch)
    while rows:
        await target.backend.write(_inserting(table.insert(), [tuple(row) for row in rows]))
        if len(rows) < batch:
            return
        rows = await db.fetch(table.page(first=False), *table.last_key(rows[-1]), batch)


def _inserting(query: str, rows: list[tuple[Any, ...]]) -> Operation[None]:
    async def insert(db: Sql) -> None:
        await db.executemany(query, rows)

    return insert


async def _count(db: Sql, table: str) -> int:
    row = await db.fetchrow(f"SELECT count(*) FROM {quoted(table)}")
    return int(row[0]) if row else 0


def _in_snapshot(operation: Callable[[Sql], Awaitable[T]]) -> Operation[T]:
    """``operation`` inside one read-only transaction: every query sees the same moment."""

    async def read(db: Sql) -> T:
        if db.dialect == "postgresql":
            await db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            await db.execute("BEGIN")
        try:
            result = await operation(db)
        except BaseException:
            with contextlib.suppress(Exception):
                await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        return result

    return read


async def _close(*databases: Storage) -> None:
    for database in databases:
        await database.close()


async def copy_files(data_dir: Path, target: Storage) -> list[TableCount]:
    """Copies the parcels and originals a one-process install keeps under ``data_dir`` into
    ``target``'s tables, a job at a time (again: replaced by the same); per kind, how many
    jobs' files could be read and how many of them the target holds."""
    outbox, outbox_rows = FileOutbox(data_dir / "outbox"), DatabaseOutbox(target)
    parcels = []
    for job_id in await outbox.job_ids():
        parcel = await outbox.get(job_id)
        if parcel is not None:
            await outbox_rows.store(parcel)
            parcels.append(job_id)
    originals, originals_rows = (
        FileOriginals(data_dir / "originals", keep_days=1),
        DatabaseOriginals(target, keep_days=1),
    )
    kept = []
    for job_id in await originals.job_ids():
        files = await originals.get(job_id)
        if files is not None:
            await target.put_originals(job_id, files, originals.kept_at(job_id))
            kept.append(job_id)
    return [
        _files_count("outbox files", parcels, await outbox_rows.job_ids()),
        _files_count("originals files", kept, await originals_rows.job_ids()),
    ]


def _files_count(name: str, copied: list[int], in_target: list[int]) -> TableCount:
    return TableCount(name, len(copied), len(set(copied) & set(in_target)))


# What the databases hold


async def list_tables(db: Sql) -> list[Table]:
    """The tables of ``db`` that hold the bot's state (not the schema's bookkeeping), by name.

    Raises :class:`MigrationError` for a table without a primary key (it cannot be copied
    without copying some rows twice)."""
    if db.dialect == "postgresql":
        names = await db.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " ORDER BY table_name"
        )
    else:
        names = await db.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
    tables = []
    for (name,) in names:
        if name in BOOKKEEPING:
            continue
        columns, key = await _columns(db, name)
        if not key:
            raise MigrationError(f"The table {name} has no primary key: it cannot be copied.")
        tables.append(Table(name, columns, key))
    return tables


async def _columns(db: Sql, table: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The table's columns in order, and its primary key's columns in the key's order."""
    if db.dialect == "postgresql":
        columns = await db.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            table,
        )
        key = await db.fetch(
            "SELECT k.column_name FROM information_schema.table_constraints c"
            " JOIN information_schema.key_column_usage k ON k.constraint_schema ="
            " c.constraint_schema AND k.constraint_name = c.constraint_name"
            " WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema()"
            " AND c.table_name = ? ORDER BY k.ordinal_position",
            table,
        )
        return tuple(str(row[0]) for row in columns), tuple(str(row[0]) for row in key)
    rows = await db.fetch("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", table)
    in_key = sorted((int(row[1]), str(row[0])) for row in rows if row[1])
    return tuple(str(row[0]) for row in rows), tuple(name for _, name in in_key)


async def advance_identities(db: Sql) -> None:
    """Moves each identity sequence of a PostgreSQL ``db`` past its column's largest value
    (SQLite's AUTOINCREMENT follows the ids inserted by itself)."""
    if db.dialect != "postgresql":
        return
    identities = await db.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    for table, column in identities:
        top = await db.fetchrow(f"SELECT max({quoted(column)}) FROM {quoted(table)}")
        issued = await db.fetchrow(
            "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence(?, ?) AS regclass))",
            quoted(table),
            column,
        )
        largest = top[0] if top else None
        if largest is not None and largest > ((issued[0] if issued else None) or 0):
            await db.execute(
                "SELECT setval(pg_get_serial_sequence(?, ?), ?)", quoted(table), column, largest
            )


# The command


def report(counts: Sequence[TableCount], out: TextIO) -> int:
    """Prints each table's rows in the source and the target, then the verdict: a line per
    table the target has fewer rows of; ``OK`` (0) or ``FAILED`` (1)."""
    width = max([len("table"), *(len(count.table) for count in counts)])
    print(f"{'table':<{width}}  {'source':>9}  {'target':>9}", file=out)
    for count in counts:
        print(f"{count.table:<{width}}  {count.source:>9}  {count.target:>9}", file=out)
    short = [count for count in counts if not count.complete]
    for count in short:
        print(
            f"FAILED: the target has {count.target} rows of {count.table}, the source "
            f"{count.source}.",
            file=out,
        )
    if short:
        return FAILED
    print(f"OK: every row of {len(counts)} tables is in the target.", file=out)
    return OK


async def run_migrate(
    source: str,
    target: str,
    out: TextIO,
    *,
    err: TextIO | None = None,
    batch: int = BATCH,
) -> int:
    """``migrate-db --from source --to target``: copies, prints the counts to ``out`` and
    returns the exit status: 0 copied and verified, 1 the copy stopped or the target has fewer
    rows of some table, 2 a wrong address or a database that cannot be opened (one line on
    ``err``, default ``out``)."""
    errors = err if err is not None else out
    try:
        source_db, target_db = await open_pair(source, target)
    except StorageError as error:
        print(f"migrate-db: {error}", file=errors)
        return BAD_ARGUMENTS
    print(f"Copying {shown(source)} to {shown(target)}", file=out)
    try:
        counts = await copy_storage(source_db, target_db, batch=batch)
        source_at = parse_address(source)
        if isinstance(source_at, Path) and isinstance(parse_address(target), str):
            counts += await copy_files(source_at.parent, target_db)
    except StorageError as error:
        print(
            f"migrate-db: the copy stopped: {error} What was copied stays; running migrate-db "
            "again completes it.",
            file=errors,
        )
        return FAILED
    finally:
        await _close(source_db, target_db)
    return report(counts, out)
