"""A full disk, told to the operator once: the first write that fails for want of space logs
one line naming the path, and the first that works again says so. In between, every write
raises :class:`StorageFull` (which the bot turns into "try again in a few minutes")."""

from __future__ import annotations

import errno
import logging
import sqlite3

from bot.storage.records import StorageFull

log = logging.getLogger(__name__)

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_full(error: BaseException) -> bool:
    """Whether ``error`` means that the disk (or the database's size limit) is full."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(error).lower()
    return isinstance(error, OSError) and error.errno in NO_SPACE


class FullDisk:
    """Whether writes under each path fail for want of space, told once each way."""

    def __init__(self) -> None:
        self._full: set[str] = set()

    def failed(self, path: object, error: BaseException) -> StorageFull:
        """The error to raise for this failed write (logged only when the path was fine)."""
        where = str(path)
        if where not in self._full:
            self._full.add(where)
            log.error(
                "no space left on the disk for %s (%s): free some space; until then requests "
                'are refused with "try again in a few minutes", and the bot carries on by '
                "itself once there is room",
                where,
                error,
            )
        return StorageFull(where)

    def worked(self, path: object) -> None:
        """A write under ``path`` worked: if it was full, say that it is no longer."""
        where = str(path)
        if where in self._full:
            self._full.discard(where)
            log.warning("%s can be written again: the disk has room", where)

    @property
    def full(self) -> bool:
        return bool(self._full)
