"""The exact files the upstream sent, kept for the 📎 button.

Telegram recompresses photos; a user who wants the full-resolution file gets these bytes as a
document. They are kept KEEP_ORIGINALS_DAYS and then removed (checked at most hourly): in
DATA_DIR/originals for one process (:class:`FileOriginals`), in the database for replicas
sharing PostgreSQL (:class:`DatabaseOriginals`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from abc import ABC, abstractmethod
from pathlib import Path

from bot.storage.full import FullDisk, is_full
from bot.storage.parcels import ParcelsRepository

PRUNE_EVERY = 3600.0  # seconds between looks for expired files
KINDS = (
    (b"\x89PNG", "png"),
    (b"\xff\xd8", "jpg"),
    (b"GIF8", "gif"),
    (b"RIFF", "webp"),
)


def extension(data: bytes) -> str:
    """The file extension that fits the bytes' format (``bin`` when it is none we know)."""
    return next((ext for magic, ext in KINDS if data.startswith(magic)), "bin")


def names(blobs: list[bytes]) -> list[tuple[str, bytes]]:
    """Each file with its name: ``original-1.png``, ``original-2.jpg``, ... in drawing order."""
    return [(f"original-{n}.{extension(data)}", data) for n, data in enumerate(blobs, start=1)]


class Originals(ABC):
    """The exact files of each job for KEEP_ORIGINALS_DAYS: :class:`FileOriginals` (DATA_DIR)
    or :class:`DatabaseOriginals` (PostgreSQL, shared by replicas)."""

    def __init__(self, keep_days: float) -> None:
        self.keep_seconds = keep_days * 86400
        self._pruned = 0.0

    @property
    def enabled(self) -> bool:
        return self.keep_seconds > 0

    async def put(self, job_id: int, blobs: list[bytes], now: float | None = None) -> None:
        """Keeps a job's files as of ``now`` (the wall clock's time by default), and removes
        expired ones (at most once per PRUNE_EVERY)."""
        if not self.enabled:
            return
        now = time.time() if now is None else now
        await self._keep(job_id, names(blobs), now)
        if now - self._pruned >= PRUNE_EVERY:
            self._pruned = now
            await self._prune(now - self.keep_seconds)

    @abstractmethod
    async def get(self, job_id: int) -> list[tuple[str, bytes]] | None:
        """The job's files as (name, bytes) in drawing order, or None when they are gone."""

    @abstractmethod
    async def job_ids(self) -> list[int]:
        """Jobs with files kept."""

    @abstractmethod
    async def _keep(self, job_id: int, files: list[tuple[str, bytes]], now: float) -> None: ...

    @abstractmethod
    async def _prune(self, before: float) -> None: ...


class FileOriginals(Originals):
    """A folder of files per job under ``root`` (DATA_DIR/originals), the owner's alone."""

    def __init__(self, root: Path, keep_days: float) -> None:
        super().__init__(keep_days)
        self.root = root
        self.disk = FullDisk()  # a full disk, told to the operator once

    async def _keep(self, job_id: int, files: list[tuple[str, bytes]], now: float) -> None:
        await asyncio.to_thread(self._write, job_id, files, now)

    def _write(self, job_id: int, files: list[tuple[str, bytes]], now: float) -> None:
        folder = self.root / str(job_id)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for name, data in files:
                fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
            os.utime(folder, (now, now))  # the folder's time says when they were kept
        except OSError as error:  # the pictures matter more than their originals: go on
            if not is_full(error):
                raise
            shutil.rmtree(folder, ignore_errors=True)
            self.disk.failed(self.root, error)
            return
        self.disk.worked(self.root)

    async def get(self, job_id: int) -> list[tuple[str, bytes]] | None:
        folder = self.root / str(job_id)

        def read() -> list[tuple[str, bytes]] | None:
            try:
                paths = sorted(folder.iterdir(), key=lambda p: int(p.stem.rsplit("-", 1)[-1]))
                return [(path.name, path.read_bytes()) for path in paths] or None
            except (OSError, ValueError):
                return None

        return await asyncio.to_thread(read)

    async def job_ids(self) -> list[int]:
        def listed() -> list[int]:
            if not self.root.is_dir():
                return []
            return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())

        return await asyncio.to_thread(listed)

    def kept_at(self, job_id: int) -> float:
        """When the job's files were kept (the folder's time); OSError when they are gone."""
        return (self.root / str(job_id)).stat().st_mtime

    async def _prune(self, before: float) -> None:
        await asyncio.to_thread(self._remove_older, before)

    def _remove_older(self, before: float) -> None:
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            try:
                if folder.stat().st_mtime < before:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue


class DatabaseOriginals(Originals):
    """The files in the database (PostgreSQL): 📎 works whichever replica drew the picture."""

    def __init__(self, storage: ParcelsRepository, keep_days: float) -> None:
        super().__init__(keep_days)
        self.storage = storage

    async def _keep(self, job_id: int, files: list[tuple[str, bytes]], now: float) -> None:
        await self.storage.put_originals(job_id, files, now)

    async def get(self, job_id: int) -> list[tuple[str, bytes]] | None:
        return await self.storage.originals(job_id)

    async def job_ids(self) -> list[int]:
        return await self.storage.original_ids()

    async def _prune(self, before: float) -> None:
        await self.storage.prune_originals(before)
