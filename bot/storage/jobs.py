"""One row per job: created, updated as it runs, finished; found again after a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from bot.storage.records import UNFINISHED, JobFigure, JobRow, JobStatus
from bot.storage.repository import Repository
from bot.storage.sql import Row, Sql


class JobsRepository(Repository):
    """One row per job: created, updated as it runs, finished; found again after a restart."""

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
        lease: tuple[str, float] | None = None,
    ) -> int | None:
        """Inserts a queued job (held by ``lease``: the replica running it and until when);
        ``None`` if this command already has one (a redelivered update)."""
        owner, until = lease or (None, None)

        async def write(db: Sql) -> int | None:
            row = await db.fetchrow(
                "INSERT INTO jobs (kind, chat_id, user_id, command_message_id, prompt, options,"
                " model, status, created_at, thread_id, language, inline_message_id,"
                " lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING id",
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
                owner,
                until,
            )
            return int(row[0]) if row else None

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

        stored = [int(v) if isinstance(v, bool) else v for v in values.values()]

        async def write(db: Sql) -> None:
            await db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", *stored, job_id)

        await self._write(write)

    async def add_result(self, job_id: int, **values: Any) -> None:
        """Adds ``values`` to what the job made (its ``result``), keeping what is there."""

        async def write(db: Sql) -> None:
            row = await db.fetchrow(f"SELECT result FROM jobs WHERE id = ?{db.lock_rows}", job_id)
            if row is None:
                return
            result = merged(json.loads(row[0]) if row[0] else {}, values)
            await db.execute("UPDATE jobs SET result = ? WHERE id = ?", json.dumps(result), job_id)

        await self._write(write)

    async def start_attempt(self, job_id: int) -> int:
        """Marks the job running and counts the run; returns how many runs were started."""

        async def write(db: Sql) -> int:
            row = await db.fetchrow(
                "UPDATE jobs SET status = ?, started_at = ?, attempts = attempts + 1 WHERE id = ?"
                " RETURNING attempts",
                JobStatus.RUNNING,
                time.time(),
                job_id,
            )
            return int(row[0]) if row else 0

        return await self._write(write)

    _COLUMNS = (
        "id, kind, chat_id, user_id, command_message_id, status_message_id, prompt, options,"
        " model, status, upstream_job_id, error, thread_id, attempts, status_settled, final_text,"
        " language, result, inline_message_id"
    )

    @staticmethod
    def _row(row: Row) -> JobRow:
        values = list(row)
        values[7] = json.loads(values[7])
        values[9] = JobStatus(values[9])
        values[14] = bool(values[14])
        values[17] = json.loads(values[17]) if values[17] else None
        return JobRow(*values)

    async def _jobs(self, where: str, params: tuple[Any, ...]) -> list[JobRow]:
        async def read(db: Sql) -> list[JobRow]:
            rows = await db.fetch(
                f"SELECT {self._COLUMNS} FROM jobs WHERE {where} ORDER BY id", *params
            )
            return [self._row(row) for row in rows]

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

        async def read(db: Sql) -> list[JobFigure]:
            rows = await db.fetch(
                "SELECT chat_id, model, status, created_at, started_at, finished_at FROM jobs"
                " WHERE created_at >= ? ORDER BY created_at",
                since,
            )
            return [
                JobFigure(row[0], row[1], JobStatus(row[2]), row[3], row[4], row[5]) for row in rows
            ]

        return await self._read(read)

    async def count_jobs(self, *statuses: JobStatus) -> int:
        """How many jobs are in these states right now (any age)."""
        marks = ", ".join("?" for _ in statuses)

        async def read(db: Sql) -> int:
            row = await db.fetchrow(
                f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})", *statuses
            )
            return int(row[0]) if row else 0

        return await self._read(read)


def merged(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``target`` with ``patch`` merged in (JSON Merge Patch, RFC 7396: objects merge key by
    key, a null removes the key, anything else replaces)."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result
