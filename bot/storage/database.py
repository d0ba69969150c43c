"""SQLite persistence (aiosqlite, WAL): per-chat preferences and one row per job.

It fails loudly and safely: a locked database is waited for (briefly, then retried with
backoff), a corrupt, unreadable or newer-schema file raises :class:`StorageError` with one line
to show the operator, every write completes even when its caller is cancelled, and the files
are created readable by their owner only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from providers.routing.health import Health

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 1000  # SQLite's own wait for a lock, per attempt
LOCKED_RETRY_SECONDS = 30.0  # then our retries with backoff, in all

# Each entry upgrades the schema by one version; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE chat_prefs (
        chat_id      INTEGER PRIMARY KEY,
        image_model  TEXT,
        vision_model TEXT,
        aspect_ratio TEXT,
        image_count  INTEGER,
        updated_at   REAL NOT NULL
    );
    CREATE TABLE jobs (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        kind               TEXT NOT NULL,
        chat_id            INTEGER NOT NULL,
        user_id            INTEGER NOT NULL,
        command_message_id INTEGER NOT NULL,
        status_message_id  INTEGER,
        prompt             TEXT NOT NULL,
        options            TEXT NOT NULL DEFAULT '{}',
        model              TEXT NOT NULL,
        status             TEXT NOT NULL,
        upstream_job_id    TEXT,
        error              TEXT,
        created_at         REAL NOT NULL,
        started_at         REAL,
        finished_at        REAL
    );
    CREATE UNIQUE INDEX jobs_command ON jobs (chat_id, command_message_id, kind);
    CREATE INDEX jobs_status ON jobs (status);
    """,
    # What a restart needs: the topic to answer in, how many runs were started (a job is re-run
    # once after a crash), and whether the status message still has to be settled.
    """
    ALTER TABLE jobs ADD COLUMN thread_id INTEGER;
    ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN status_settled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN final_text TEXT;
    UPDATE jobs SET status_settled = 1;
    """,
    """
    CREATE TABLE provider_health (
        provider          TEXT PRIMARY KEY,
        failures_in_a_row INTEGER NOT NULL,
        last_success      REAL,
        last_failure      REAL,
        last_error        TEXT,
        down_until        REAL,
        cool_down         REAL NOT NULL,
        recent            TEXT NOT NULL
    );
    """,
    # Languages: a chat's choice (/language; NULL = each user's Telegram language) and the
    # language a job speaks, so that its texts after a restart stay in it.
    """
    ALTER TABLE chat_prefs ADD COLUMN language TEXT;
    ALTER TABLE jobs ADD COLUMN language TEXT;
    """,
    # /settings: a chat's negative prompt and how its results are shown; /stats reads jobs by
    # the time they were made.
    """
    ALTER TABLE chat_prefs ADD COLUMN negative_prompt TEXT;
    ALTER TABLE chat_prefs ADD COLUMN spoiler INTEGER;
    ALTER TABLE chat_prefs ADD COLUMN caption_above INTEGER;
    CREATE INDEX jobs_created ON jobs (created_at);
    """,
    # What a finished job made, for the buttons under it: the model that drew, the seed, and
    # the Telegram messages and files of the pictures (or the prompt a /describe wrote).
    """
    ALTER TABLE jobs ADD COLUMN result TEXT;
    """,
    # The photo a "What would you like to know?" prompt is about (the photo buttons): a reply
    # to the prompt is a question about that photo. Rows older than a day are pruned.
    """
    CREATE TABLE photo_prompts (
        chat_id    INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        photo      TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
    CREATE INDEX photo_prompts_created ON photo_prompts (created_at);
    """,
    # Inline mode: a job whose status and result live in an inline message (no chat message).
    """
    ALTER TABLE jobs ADD COLUMN inline_message_id TEXT;
    CREATE INDEX jobs_inline ON jobs (inline_message_id) WHERE inline_message_id IS NOT NULL;
    """,
)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DELIVERING = "delivering"  # finished images wait in DATA_DIR/outbox until Telegram takes them


UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DELIVERING)
DB_NAME = "bot.sqlite3"


class StorageError(Exception):
    """The database cannot be used; ``str(error)`` is one line for the operator."""


@dataclass(frozen=True)
class ChatPrefs:
    """A chat's choices; ``None`` means "use the operator's default"."""

    image_model: str | None = None
    vision_model: str | None = None
    aspect_ratio: str | None = None
    image_count: int | None = None
    language: str | None = None  # None: each user's own Telegram language
    negative_prompt: str | None = None
    spoiler: bool | None = None  # results hidden behind a spoiler
    caption_above: bool | None = None  # the caption above the picture


PREF_COLUMNS = (
    "image_model",
    "vision_model",
    "aspect_ratio",
    "image_count",
    "language",
    "negative_prompt",
    "spoiler",
    "caption_above",
)


@dataclass(frozen=True)
class JobFigure:
    """One job as /stats counts it."""

    chat_id: int
    model: str
    status: JobStatus
    created_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    chat_id: int
    user_id: int
    command_message_id: int
    status_message_id: int | None
    prompt: str
    options: dict[str, Any]
    model: str
    status: JobStatus
    upstream_job_id: str | None
    error: str | None
    thread_id: int | None = None
    attempts: int = 0
    status_settled: bool = False
    final_text: str | None = None  # what the status message must end as ("" = deleted)
    language: str | None = None  # the language the job's texts are in (None: from before them)
    result: dict[str, Any] | None = None  # what the job made (see bot.services.results)
    inline_message_id: str | None = None  # an inline-mode job's message (no status message then)


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


class Storage:
    """Open with :meth:`open`, close with :meth:`close`. All methods are coroutine-safe.

    Every write finishes even if the coroutine that asked for it is cancelled (a /cancel or a
    shutdown never leaves half a change), and a locked database is retried for up to
    ``LOCKED_RETRY_SECONDS`` before :class:`StorageError` is raised.
    """

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self._path = path
        self._write_lock = asyncio.Lock()
        self.busy_waits = 0  # how often a locked database made us wait (tests watch this)

    @classmethod
    async def open(cls, path: Path) -> Storage:
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
            version = await storage.schema_version()
            if version > len(MIGRATIONS):
                raise StorageError(
                    f"The database {path} was written by a newer version of the bot (schema "
                    f"{version}, this version knows {len(MIGRATIONS)}): run the newer version "
                    "or restore a backup made with this one."
                )
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

    async def _read(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await self._retrying(operation)

    async def _write(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Runs a write in its own transaction; it completes even if the caller is cancelled."""

        async def locked() -> T:
            async with self._write_lock:
                return await self._retrying(self._committed(operation))

        task = asyncio.ensure_future(locked())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait([task])
            raise

    def _committed(self, operation: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        async def run() -> T:
            try:
                result = await operation()
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise
            return result

        return run

    # Chat preferences

    async def get_prefs(self, chat_id: int) -> ChatPrefs:
        """The chat's stored preferences (all ``None`` when it never chose)."""

        async def read() -> ChatPrefs:
            async with self._db.execute(
                f"SELECT {', '.join(PREF_COLUMNS)} FROM chat_prefs WHERE chat_id = ?",
                (chat_id,),
            ) as cursor:
                row = await cursor.fetchone()
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

        async def write() -> None:
            await self._db.execute(
                f"INSERT INTO chat_prefs (chat_id, {columns}, updated_at) VALUES (?, {marks}, ?)"
                f" ON CONFLICT(chat_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
                (chat_id, *values.values(), time.time()),
            )

        await self._write(write)

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its preferences and jobs now belong to the new id.

        Preferences the new chat already has are kept (the move may be reported twice).
        """

        async def write() -> None:
            columns = ", ".join(PREF_COLUMNS)
            await self._db.execute(
                f"INSERT OR IGNORE INTO chat_prefs (chat_id, {columns}, updated_at)"
                f" SELECT ?, {columns}, updated_at FROM chat_prefs WHERE chat_id = ?",
                (new_chat_id, old_chat_id),
            )
            await self._db.execute("DELETE FROM chat_prefs WHERE chat_id = ?", (old_chat_id,))
            await self._db.execute(
                "UPDATE OR IGNORE jobs SET chat_id = ? WHERE chat_id = ?",
                (new_chat_id, old_chat_id),
            )

        await self._write(write)

    # Provider health (providers.health.HealthStore)

    async def load_health(self) -> list[Health]:
        """Every provider's saved health record."""
        async with self._db.execute(
            "SELECT provider, failures_in_a_row, last_success, last_failure, last_error,"
            " down_until, cool_down, recent FROM provider_health"
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            Health(
                provider=row[0],
                failures_in_a_row=row[1],
                last_success=row[2],
                last_failure=row[3],
                last_error=row[4],
                down_until=row[5],
                cool_down=row[6],
                recent=tuple((bool(ok), float(seconds)) for ok, seconds in json.loads(row[7])),
            )
            for row in rows
        ]

    async def save_health(self, health: Health) -> None:
        async def write() -> None:
            await self._db.execute(
                "INSERT OR REPLACE INTO provider_health (provider, failures_in_a_row,"
                " last_success, last_failure, last_error, down_until, cool_down, recent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    health.provider,
                    health.failures_in_a_row,
                    health.last_success,
                    health.last_failure,
                    health.last_error,
                    health.down_until,
                    health.cool_down,
                    json.dumps(health.recent),
                ),
            )

        await self._write(write)

    # Jobs

    async def create_job(
        self,
        *,
        kind: str,
        chat_id: int,
        user_id: int,
        command_message_id: int,
        prompt: str,
        model: str,
        options: Mapping[str, Any] | None = None,
        thread_id: int | None = None,
        language: str | None = None,
        inline_message_id: str | None = None,
    ) -> int | None:
        """Inserts a queued job; ``None`` if this command already has one (a redelivered update)."""

        async def write() -> int | None:
            cursor = await self._db.execute(
                "INSERT OR IGNORE INTO jobs (kind, chat_id, user_id, command_message_id, prompt,"
                " options, model, status, created_at, thread_id, language, inline_message_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    chat_id,
                    user_id,
                    command_message_id,
                    prompt,
                    json.dumps(dict(options or {})),
                    model,
                    JobStatus.QUEUED,
                    time.time(),
                    thread_id,
                    language,
                    inline_message_id,
                ),
            )
            return cursor.lastrowid if cursor.rowcount == 1 else None

        return await self._write(write)

    async def update_job(self, job_id: int, **values: Any) -> None:
        """Sets columns of a job; a new status also stamps started_at / finished_at."""
        allowed = {
            "status",
            "status_message_id",
            "upstream_job_id",
            "error",
            "status_settled",
            "final_text",
            "result",
        }
        if not set(values) <= allowed:
            raise ValueError(f"unknown job column: {set(values) - allowed}")
        status = values.get("status")
        if status == JobStatus.RUNNING:
            values["started_at"] = time.time()
        elif status is not None and status not in UNFINISHED:
            values["finished_at"] = time.time()
        if "result" in values:
            values["result"] = json.dumps(values["result"])
        assignments = ", ".join(f"{c} = ?" for c in values)

        async def write() -> None:
            await self._db.execute(
                f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id)
            )

        await self._write(write)

    async def add_result(self, job_id: int, **values: Any) -> None:
        """Adds ``values`` to what the job made (its ``result``), keeping what is there."""

        async def write() -> None:
            await self._db.execute(
                "UPDATE jobs SET result = json_patch(COALESCE(result, '{}'), ?) WHERE id = ?",
                (json.dumps(values), job_id),
            )

        await self._write(write)

    async def start_attempt(self, job_id: int) -> int:
        """Marks the job running and counts the run; returns how many runs were started."""

        async def write() -> int:
            await self._db.execute(
                "UPDATE jobs SET status = ?, started_at = ?, attempts = attempts + 1 WHERE id = ?",
                (JobStatus.RUNNING, time.time(), job_id),
            )
            async with self._db.execute(
                "SELECT attempts FROM jobs WHERE id = ?", (job_id,)
            ) as cursor:
                row = await cursor.fetchone()
            return int(row[0]) if row else 0

        return await self._write(write)

    _COLUMNS = (
        "id, kind, chat_id, user_id, command_message_id, status_message_id, prompt, options,"
        " model, status, upstream_job_id, error, thread_id, attempts, status_settled, final_text,"
        " language, result, inline_message_id"
    )

    @staticmethod
    def _row(row: Any) -> JobRow:
        values = list(row)
        values[7] = json.loads(values[7])
        values[9] = JobStatus(values[9])
        values[14] = bool(values[14])
        values[17] = json.loads(values[17]) if values[17] else None
        return JobRow(*values)

    async def _jobs(self, where: str, params: tuple[Any, ...]) -> list[JobRow]:
        async def read() -> list[JobRow]:
            async with self._db.execute(
                f"SELECT {self._COLUMNS} FROM jobs WHERE {where} ORDER BY id", params
            ) as cursor:
                return [self._row(row) for row in await cursor.fetchall()]

        return await self._read(read)

    async def get_job(self, job_id: int) -> JobRow | None:
        rows = await self._jobs("id = ?", (job_id,))
        return rows[0] if rows else None

    async def job_for_command(
        self, chat_id: int, command_message_id: int, kind: str
    ) -> JobRow | None:
        """The job a command made, if it made one (the command may have been delivered twice)."""
        rows = await self._jobs(
            "chat_id = ? AND command_message_id = ? AND kind = ?",
            (chat_id, command_message_id, kind),
        )
        return rows[0] if rows else None

    async def job_for_inline_message(self, inline_message_id: str) -> JobRow | None:
        """The job whose status and result live in this inline message, if there is one."""
        rows = await self._jobs("inline_message_id = ?", (inline_message_id,))
        return rows[0] if rows else None

    async def unfinished_jobs(self) -> list[JobRow]:
        """Jobs left queued, running or delivering, e.g. by a crash or a restart."""
        marks = ", ".join("?" for _ in UNFINISHED)
        return await self._jobs(f"status IN ({marks})", UNFINISHED)

    async def unsettled_jobs(self) -> list[JobRow]:
        """Finished jobs whose status message may still show an old "drawing…" text."""
        marks = ", ".join("?" for _ in UNFINISHED)
        return await self._jobs(
            f"status NOT IN ({marks}) AND status_settled = 0"
            " AND (status_message_id IS NOT NULL OR inline_message_id IS NOT NULL)",
            UNFINISHED,
        )

    async def job_figures(self, since: float) -> list[JobFigure]:
        """Every job made at or after ``since`` (a Unix time), oldest first, for /stats."""

        async def read() -> list[JobFigure]:
            async with self._db.execute(
                "SELECT chat_id, model, status, created_at, started_at, finished_at FROM jobs"
                " WHERE created_at >= ? ORDER BY created_at",
                (since,),
            ) as cursor:
                rows = await cursor.fetchall()
            return [
                JobFigure(row[0], row[1], JobStatus(row[2]), row[3], row[4], row[5]) for row in rows
            ]

        return await self._read(read)

    async def count_jobs(self, *statuses: JobStatus) -> int:
        """How many jobs are in these states right now (any age)."""
        marks = ", ".join("?" for _ in statuses)

        async def read() -> int:
            async with self._db.execute(
                f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})", statuses
            ) as cursor:
                row = await cursor.fetchone()
            return int(row[0]) if row else 0

        return await self._read(read)

    # Prompts about photos

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
