"""What replicas sharing one database agree on: who is alive (a heartbeat each), which updates
were already taken (Telegram delivers one again when an answer is slow), and which replica
runs each unfinished job (a lease it renews while it runs; an expired one is taken over)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from bot.storage.records import UNFINISHED
from bot.storage.repository import Repository
from bot.storage.sql import Sql

UpdateVerdict = Literal["mine", "done", "busy"]
"""Whether a replica handles an update: ``mine``, ``done`` already (drop it), or ``busy``
(another replica is handling it now)."""

_UNFINISHED_MARKS = ", ".join("?" for _ in UNFINISHED)


class ReplicasRepository(Repository):
    """Heartbeats, taken updates and job leases (see the module's docstring)."""

    async def beat(self, replica: str, now: float) -> None:
        """Records that ``replica`` is alive at ``now``."""

        async def write(db: Sql) -> None:
            await db.execute(
                "INSERT INTO replicas (id, started_at, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                replica,
                now,
                now,
            )

        await self._write(write)

    async def replicas_alive(self, since: float) -> list[str]:
        """The replicas seen at or after ``since``, by name."""

        async def read(db: Sql) -> list[str]:
            rows = await db.fetch("SELECT id FROM replicas WHERE seen_at >= ? ORDER BY id", since)
            return [str(row[0]) for row in rows]

        return await self._read(read)

    async def forget_replica(self, replica: str, *, before: float) -> None:
        """Removes ``replica`` (it stopped) and the records of replicas not seen since
        ``before``."""

        async def write(db: Sql) -> None:
            await db.execute("DELETE FROM replicas WHERE id = ? OR seen_at < ?", replica, before)

        await self._write(write)

    async def take_update(
        self, update_id: int, replica: str, *, now: float, alive: float
    ) -> UpdateVerdict:
        """Whether ``replica`` handles the update: ``"mine"`` (new, or its replica has not been
        seen since ``alive`` and never finished it), ``"done"`` (handled already: drop it) or
        ``"busy"`` (another replica is handling it: let Telegram send it again later)."""

        async def write(db: Sql) -> UpdateVerdict:
            taken = await db.execute(
                "INSERT INTO updates_seen (update_id, seen_at, replica) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                update_id,
                now,
                replica,
            )
            if taken == 1:
                return "mine"
            row = await db.fetchrow(
                "SELECT done, seen_at, replica, (SELECT MAX(seen_at) FROM replicas AS r"
                f" WHERE r.id = updates_seen.replica) FROM updates_seen WHERE update_id = ?"
                f"{db.lock_rows}",
                update_id,
            )
            assert row is not None
            done, seen_at, owner, beat = row[0], row[1], row[2], row[3]
            if done:
                return "done"
            if owner != replica and (seen_at >= alive or (beat is not None and beat >= alive)):
                return "busy"
            await db.execute(
                "UPDATE updates_seen SET replica = ?, seen_at = ? WHERE update_id = ?",
                replica,
                now,
                update_id,
            )
            return "mine"

        return await self._write(write)

    async def update_done(self, update_id: int) -> None:
        """The update was handled: a copy Telegram sends again is dropped."""

        async def write(db: Sql) -> None:
            await db.execute("UPDATE updates_seen SET done = 1 WHERE update_id = ?", update_id)

        await self._write(write)

    async def forget_updates(self, before: float) -> int:
        """Forgets updates taken before ``before`` (Telegram keeps one for 24 hours)."""

        async def write(db: Sql) -> int:
            return await db.execute("DELETE FROM updates_seen WHERE seen_at < ?", before)

        return await self._write(write)

    async def claim_job(self, job_id: int, replica: str, *, now: float, until: float) -> bool:
        """Makes ``replica`` the job's runner until ``until``, unless the job ended or another
        replica's lease on it still holds at ``now``; whether the job is now this replica's."""

        async def write(db: Sql) -> bool:
            claimed = await db.execute(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ? AND"
                f" status IN ({_UNFINISHED_MARKS}) AND"
                " (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)",
                replica,
                until,
                job_id,
                *UNFINISHED,
                replica,
                now,
            )
            return claimed == 1

        return await self._write(write)

    async def claim_orphans(
        self, replica: str, *, now: float, until: float, limit: int
    ) -> list[int]:
        """Takes over up to ``limit`` unfinished jobs whose lease ran out at ``now`` (their
        replica stopped or died, or it is this replica's previous run) or that never had one;
        the ids of the jobs now ``replica``'s, oldest first. Replicas claiming at once get
        different jobs (SKIP LOCKED)."""

        async def write(db: Sql) -> list[int]:
            rows = await db.fetch(
                f"SELECT id FROM jobs WHERE status IN ({_UNFINISHED_MARKS}) AND"
                " (lease_owner IS NULL OR lease_until < ?)"
                f" ORDER BY id LIMIT ?{db.claim_rows}",
                *UNFINISHED,
                now,
                limit,
            )
            ids = [int(row[0]) for row in rows]
            for job_id in ids:
                await db.execute(
                    "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ?",
                    replica,
                    until,
                    job_id,
                )
            return ids

        return await self._write(write)

    async def renew_leases(self, replica: str, until: float, job_ids: Sequence[int]) -> list[int]:
        """Extends ``replica``'s leases on the jobs ``job_ids`` (those running in this process:
        a previous run under the same name renews nothing) to ``until``; the ids among them
        another replica holds now (it took them over while this one stalled), in order."""
        if not job_ids:
            return []
        marks = ", ".join("?" for _ in job_ids)

        async def write(db: Sql) -> list[int]:
            renewed = await db.fetch(
                f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND id IN ({marks})"
                " RETURNING id",
                until,
                replica,
                *job_ids,
            )
            return sorted(set(job_ids) - {int(row[0]) for row in renewed})

        return await self._write(write)

    async def release_leases(self, replica: str) -> int:
        """Gives up every lease ``replica`` holds (a graceful stop: others take its jobs over
        at once); how many."""

        async def write(db: Sql) -> int:
            return await db.execute(
                "UPDATE jobs SET lease_until = 0 WHERE lease_owner = ? AND"
                f" status IN ({_UNFINISHED_MARKS})",
                replica,
                *UNFINISHED,
            )

        return await self._write(write)

    async def jobs_elsewhere(self, user_id: int, replica: str, now: float) -> int:
        """The user's unfinished jobs that other replicas hold now (for the per-user cap)."""

        async def read(db: Sql) -> int:
            row = await db.fetchrow(
                f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND status IN ({_UNFINISHED_MARKS})"
                " AND lease_owner != ? AND lease_until >= ?",
                user_id,
                *UNFINISHED,
                replica,
                now,
            )
            return int(row[0]) if row else 0

        return await self._read(read)

    async def ask_cancel(self, chat_id: int, user_id: int, replica: str, reason: str) -> int:
        """Asks the replicas running the user's unfinished jobs in the chat (other than
        ``replica``) to cancel them; how many were asked."""

        async def write(db: Sql) -> int:
            return await db.execute(
                f"UPDATE jobs SET cancel_reason = ? WHERE chat_id = ? AND user_id = ? AND"
                f" status IN ({_UNFINISHED_MARKS}) AND lease_owner != ?"
                " AND cancel_reason IS NULL",
                reason,
                chat_id,
                user_id,
                *UNFINISHED,
                replica,
            )

        return await self._write(write)

    async def cancels_asked(self, replica: str) -> list[tuple[int, str]]:
        """The jobs ``replica`` runs that another replica was asked to cancel: (id, reason)."""

        async def write(db: Sql) -> list[tuple[int, str]]:
            rows = await db.fetch(
                "UPDATE jobs SET cancel_reason = NULL WHERE lease_owner = ? AND"
                " cancel_reason IS NOT NULL RETURNING id, cancel_reason",
                replica,
            )
            return [(int(row[0]), str(row[1])) for row in rows]

        return await self._write(write)
