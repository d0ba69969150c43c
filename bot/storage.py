"""SQLite persistence (aiosqlite, WAL): per-chat preferences and one row per job."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiosqlite

from providers.health import Health

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
)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class ChatPrefs:
    """A chat's choices; ``None`` means "use the operator's default"."""

    image_model: str | None = None
    vision_model: str | None = None
    aspect_ratio: str | None = None
    image_count: int | None = None


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


class Storage:
    """Open with :meth:`open`, close with :meth:`close`. All methods are coroutine-safe."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> Storage:
        """Opens (creating and migrating as needed) the database at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=5000")
        storage = cls(db)
        await storage._migrate()
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

    # Chat preferences

    async def get_prefs(self, chat_id: int) -> ChatPrefs:
        """The chat's stored preferences (all ``None`` when it never chose)."""
        async with self._db.execute(
            "SELECT image_model, vision_model, aspect_ratio, image_count"
            " FROM chat_prefs WHERE chat_id = ?",
            (chat_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return ChatPrefs(*row) if row else ChatPrefs()

    async def set_prefs(self, chat_id: int, **values: str | int | None) -> None:
        """Stores the given preference columns for the chat, keeping the others."""
        allowed = {"image_model", "vision_model", "aspect_ratio", "image_count"}
        if not values or not set(values) <= allowed:
            raise ValueError(f"unknown preference: {set(values) - allowed}")
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values)
        await self._db.execute(
            f"INSERT INTO chat_prefs (chat_id, {columns}, updated_at) VALUES (?, {marks}, ?)"
            f" ON CONFLICT(chat_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            (chat_id, *values.values(), time.time()),
        )
        await self._db.commit()

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
        await self._db.execute(
            "INSERT OR REPLACE INTO provider_health (provider, failures_in_a_row, last_success,"
            " last_failure, last_error, down_until, cool_down, recent)"
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
        await self._db.commit()

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
    ) -> int | None:
        """Inserts a queued job; ``None`` if this command already has one (a redelivered update)."""
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO jobs (kind, chat_id, user_id, command_message_id, prompt,"
            " options, model, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )
        await self._db.commit()
        return cursor.lastrowid if cursor.rowcount == 1 else None

    async def update_job(self, job_id: int, **values: Any) -> None:
        """Sets columns of a job; a new status also stamps started_at / finished_at."""
        allowed = {"status", "status_message_id", "upstream_job_id", "error"}
        if not set(values) <= allowed:
            raise ValueError(f"unknown job column: {set(values) - allowed}")
        status = values.get("status")
        if status == JobStatus.RUNNING:
            values["started_at"] = time.time()
        elif status is not None and status not in UNFINISHED:
            values["finished_at"] = time.time()
        assignments = ", ".join(f"{c} = ?" for c in values)
        await self._db.execute(
            f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id)
        )
        await self._db.commit()

    async def get_job(self, job_id: int) -> JobRow | None:
        async with self._db.execute(
            "SELECT id, kind, chat_id, user_id, command_message_id, status_message_id, prompt,"
            " options, model, status, upstream_job_id, error FROM jobs WHERE id = ?",
            (job_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        values[7] = json.loads(values[7])
        values[9] = JobStatus(values[9])
        return JobRow(*values)

    async def unfinished_jobs(self) -> list[JobRow]:
        """Jobs left queued or running, e.g. by a crash."""
        async with self._db.execute(
            "SELECT id FROM jobs WHERE status IN (?, ?) ORDER BY id", UNFINISHED
        ) as cursor:
            ids = [row[0] for row in await cursor.fetchall()]
        jobs = [await self.get_job(i) for i in ids]
        return [j for j in jobs if j is not None]
