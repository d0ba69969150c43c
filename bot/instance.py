"""One bot per DATA_DIR: a lock file held for the life of the process."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "bot.lock"


class AlreadyRunning(Exception):
    """Another bot process holds DATA_DIR; ``str(error)`` is one line for the operator."""


class InstanceLock:
    """Holds an exclusive lock on ``DATA_DIR/bot.lock`` until :meth:`release` or process exit.

    The operating system drops the lock when the process dies, even by kill -9, so a crash
    never leaves a stale lock behind. The file holds the owner's process id for the curious.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Takes the lock, or raises AlreadyRunning (or OSError if DATA_DIR is unusable)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise AlreadyRunning(
                f"Another bot (pid {owner}) is already running with DATA_DIR={self.path.parent}; "
                "stop it first, or give this one its own DATA_DIR."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
