"""Finished pictures waiting for Telegram and the originals behind 📎, kept in the database
when replicas share one (every replica reads them: any replica delivers any parcel and answers
any 📎). See :mod:`bot.storage.outbox` and :mod:`bot.storage.originals`."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.repository import Repository
from bot.storage.sql import Sql


class ParcelsRepository(Repository):
    """Parcels (a manifest and its pictures) and original files, per job."""

    async def put_parcel(self, job_id: int, manifest: str, pictures: Sequence[bytes]) -> None:
        """Keeps the job's parcel, replacing any it had."""

        async def write(db: Sql) -> None:
            await db.execute("DELETE FROM parcel_pictures WHERE job_id = ?", job_id)
            await db.execute("DELETE FROM parcels WHERE job_id = ?", job_id)
            await db.execute(
                "INSERT INTO parcels (job_id, manifest) VALUES (?, ?)", job_id, manifest
            )
            await db.executemany(
                "INSERT INTO parcel_pictures (job_id, position, data) VALUES (?, ?, ?)",
                [(job_id, position, data) for position, data in enumerate(pictures)],
            )

        await self._write(write)

    async def parcel(self, job_id: int) -> tuple[str, list[bytes]] | None:
        """The job's manifest and pictures in order, or None."""

        async def read(db: Sql) -> tuple[str, list[bytes]] | None:
            row = await db.fetchrow("SELECT manifest FROM parcels WHERE job_id = ?", job_id)
            if row is None:
                return None
            rows = await db.fetch(
                "SELECT data FROM parcel_pictures WHERE job_id = ? ORDER BY position", job_id
            )
            return str(row[0]), [bytes(picture[0]) for picture in rows]

        return await self._read(read)

    async def save_manifest(self, job_id: int, manifest: str) -> None:
        """Replaces the job's manifest (what was sent of it), its pictures untouched."""

        async def write(db: Sql) -> None:
            await db.execute("UPDATE parcels SET manifest = ? WHERE job_id = ?", manifest, job_id)

        await self._write(write)

    async def drop_parcel(self, job_id: int) -> None:
        """Forgets the job's parcel, pictures and all."""

        async def write(db: Sql) -> None:
            await db.execute("DELETE FROM parcel_pictures WHERE job_id = ?", job_id)
            await db.execute("DELETE FROM parcels WHERE job_id = ?", job_id)

        await self._write(write)

    async def parcel_ids(self) -> list[int]:
        """Jobs with a parcel, by id."""

        async def read(db: Sql) -> list[int]:
            rows = await db.fetch("SELECT job_id FROM parcels ORDER BY job_id")
            return [int(row[0]) for row in rows]

        return await self._read(read)

    async def put_originals(
        self, job_id: int, files: Sequence[tuple[str, bytes]], now: float
    ) -> None:
        """Keeps the job's original files (name, bytes), in drawing order."""

        async def write(db: Sql) -> None:
            await db.execute("DELETE FROM originals WHERE job_id = ?", job_id)
            await db.executemany(
                "INSERT INTO originals (job_id, position, name, data, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(job_id, n, name, data, now) for n, (name, data) in enumerate(files)],
            )

        await self._write(write)

    async def originals(self, job_id: int) -> list[tuple[str, bytes]] | None:
        """The job's original files (name, bytes) in drawing order, or None."""

        async def read(db: Sql) -> list[tuple[str, bytes]] | None:
            rows = await db.fetch(
                "SELECT name, data FROM originals WHERE job_id = ? ORDER BY position", job_id
            )
            return [(str(row[0]), bytes(row[1])) for row in rows] or None

        return await self._read(read)

    async def original_ids(self) -> list[int]:
        """Jobs with originals kept, by id."""

        async def read(db: Sql) -> list[int]:
            rows = await db.fetch("SELECT DISTINCT job_id FROM originals ORDER BY job_id")
            return [int(row[0]) for row in rows]

        return await self._read(read)

    async def prune_originals(self, before: float) -> int:
        """Forgets the originals kept before ``before``; how many files."""

        async def write(db: Sql) -> int:
            return await db.execute("DELETE FROM originals WHERE created_at < ?", before)

        return await self._write(write)
