"""Keeping the bot's memory near what it uses after a burst of photo-sized buffers (glibc)."""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter for the size from which blocks are mapped on their own."""
MMAP_THRESHOLD = 1024 * 1024


def return_large_buffers() -> bool:
    """Makes glibc map every block of 1 MiB or more on its own, so it goes back to the system
    as soon as it is freed; True when that was set (False off glibc).

    By default glibc raises that threshold after the first large block is freed (up to 32
    MiB): a user's 2 MB photo, its decoded pixels and the upload of its fitted copy then come
    from the heap, which a burst of edits fragments and leaves at its high-water mark.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False
