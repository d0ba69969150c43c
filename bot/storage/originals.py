"""The exact files the upstream sent, kept in DATA_DIR/originals for the 📎 button.

Telegram recompresses photos; a user who wants the full-resolution file gets these bytes as a
document. They are kept KEEP_ORIGINALS_DAYS and then removed (checked at most hourly).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from bot.storage.full import FullDisk, is_full

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


class Originals:
    """Folders of original files per job under ``root``. Methods are blocking: call them in a
    thread from async code."""

    def __init__(self, root: Path, keep_days: float) -> None:
        self.root = root
        self.keep_seconds = keep_days * 86400
        self._pruned = 0.0
        self.disk = FullDisk()  # a full disk, told to the operator once

    @property
    def enabled(self) -> bool:
        return self.keep_seconds > 0

    def put(self, job_id: int, blobs: list[bytes]) -> None:
        """Keeps a job's files (readable by the owner only), and removes expired ones."""
        if not self.enabled:
            return
        folder = self.root / str(job_id)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for index, data in enumerate(blobs):
                path = folder / f"original-{index + 1}.{extension(data)}"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
        except OSError as error:  # the pictures matter more than their originals: go on
            if not is_full(error):
                raise
            shutil.rmtree(folder, ignore_errors=True)
            self.disk.failed(self.root, error)
            return
        self.disk.worked(self.root)
        self.prune()

    def get(self, job_id: int) -> list[tuple[str, bytes]] | None:
        """The job's files as (name, bytes) in drawing order, or None when they are gone."""
        folder = self.root / str(job_id)
        try:
            paths = sorted(folder.iterdir(), key=lambda p: int(p.stem.rsplit("-", 1)[-1]))
            return [(path.name, path.read_bytes()) for path in paths] or None
        except (OSError, ValueError):
            return None

    def prune(self, now: float | None = None) -> None:
        """Removes the folders older than the keeping time (at most once per PRUNE_EVERY)."""
        now = time.time() if now is None else now
        if now - self._pruned < PRUNE_EVERY or not self.root.is_dir():
            return
        self._pruned = now
        for folder in self.root.iterdir():
            try:
                if now - folder.stat().st_mtime > self.keep_seconds:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue
