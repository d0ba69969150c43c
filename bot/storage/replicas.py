"""What replicas sharing one database agree on: who is alive (a heartbeat each), which updates
were already taken (Telegram delivers one again when an answer is slow), and which replica
runs each unfinished job (a lease it renews while it runs; an expired one is taken over)."""

from __future__ import annotations

from bot.storage.records import UNFINISHED
from bot.storage.repository import Repository
from bot.storage.sql import Sql

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

    async def first_sight(self, update_id: int, now: float) -> bool:
        """Records the update as taken; False when some replica already took it."""

        async def write(db: Sql) -> bool:
            taken = await db.execute(
                "INSERT INTO updates_seen (update_id, seen_at) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                update_id,
                now,
            )
            return taken == 1

        return await self._write(write)

    async def forget_updates(self, before: float) -> int:
        """Forgets updates taken before ``before`` (Telegram keeps one for 24 hours)."""

        async def write(db: Sql) -> int:
            return await db.execute("DELETE FROM updates_seen WHERE seen_at < ?", before)

        return await self._write(write)

    async def claim_job(self, job_id: int, replica: str, *, now: float, until: float) -> bool:
        """Makes ``replica`` the job's runner until ``until``, unless another replica's lease
        on it still holds at ``now``; whether the job is now this replica's."""

        async def write(db: Sql) -> bool:
            claimed = await db.execute(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ? AND"
                " (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)",
                replica,
                until,
                job_id,
                replica,
                now,
            )
            return claimed == 1

        return await self._write(write)

    async def claim_orphans(
        self, replica: str, *, now: float, until: float, limit: int
    ) -> list[int]:
        """Takes over up to ``limit`` unfinished jobs whose lease ran out (their replica stopped
        or died) or that never had one; the ids of the jobs now ``replica``'s, oldest first.
        Replicas claiming at once get different jobs (SKIP LOCKED)."""

        async def write(db: Sql) -> list[int]:
            rows = await db.fetch(
                f"SELECT id FROM jobs WHERE status IN ({_UNFINISHED_MARKS}) AND"
                " (lease_owner IS NULL OR (lease_owner != ? AND lease_until < ?))"
                f" ORDER BY id LIMIT ?{db.claim_rows}",
                *UNFINISHED,
                replica,
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

    async def renew_leases(self, replica: str, until: float) -> int:
        """Extends every lease ``replica`` holds on an unfinished job to ``until``; how many."""

        async def write(db: Sql) -> int:
            return await db.execute(
                f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND"
                f" status IN ({_UNFINISHED_MARKS})",
                until,
                replica,
                *UNFINISHED,
            )

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
