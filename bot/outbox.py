"""Finished pictures kept in DATA_DIR/outbox until Telegram has accepted them.

A parcel is one job's pictures (files readable by the owner only) and a small JSON manifest
with the caption and which pictures Telegram already took, so a restart or a long outage
sends the rest later, and nothing twice that was acknowledged.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .pictures import Picture

MANIFEST = "parcel.json"


@dataclass
class Parcel:
    """What a finished job still owes the chat."""

    job_id: int
    caption: str
    pictures: list[Picture]
    sent: set[int] = field(default_factory=set)
    caption_sent: bool = False
    spoiler: bool = False  # photos hidden behind a spoiler
    caption_above: bool = False  # the caption shown above the picture

    @property
    def pending(self) -> list[int]:
        return [i for i in range(len(self.pictures)) if i not in self.sent]


def _write(path: Path, data: bytes) -> None:
    """Writes atomically (a crash leaves the old file or the new one) with mode 0600."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


class Outbox:
    """The parcels under ``root`` (DATA_DIR/outbox). Methods are blocking: call them in a
    thread from async code."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, job_id: int) -> Path:
        return self.root / str(job_id)

    def put(
        self,
        job_id: int,
        pictures: list[Picture],
        caption: str,
        *,
        spoiler: bool = False,
        caption_above: bool = False,
    ) -> Parcel:
        """Stores the pictures of a finished job and how to show them; returns its parcel."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = self._dir(job_id)
        folder.mkdir(mode=0o700, exist_ok=True)
        for picture in pictures:
            _write(folder / picture.filename, picture.data)
        parcel = Parcel(
            job_id, caption, list(pictures), spoiler=spoiler, caption_above=caption_above
        )
        self._save(parcel)
        return parcel

    def _save(self, parcel: Parcel) -> None:
        manifest = {
            "caption": parcel.caption,
            "pictures": [{"file": p.filename, "as_photo": p.as_photo} for p in parcel.pictures],
            "sent": sorted(parcel.sent),
            "caption_sent": parcel.caption_sent,
            "spoiler": parcel.spoiler,
            "caption_above": parcel.caption_above,
        }
        _write(self._dir(parcel.job_id) / MANIFEST, json.dumps(manifest).encode())

    def get(self, job_id: int) -> Parcel | None:
        """The job's parcel, or None when there is none (or it cannot be read)."""
        folder = self._dir(job_id)
        try:
            manifest = json.loads((folder / MANIFEST).read_bytes())
            pictures = [
                Picture((folder / item["file"]).read_bytes(), item["file"], item["as_photo"])
                for item in manifest["pictures"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return Parcel(
            job_id,
            manifest["caption"],
            pictures,
            set(manifest["sent"]),
            bool(manifest["caption_sent"]),
            bool(manifest.get("spoiler", False)),
            bool(manifest.get("caption_above", False)),
        )

    def mark_sent(self, parcel: Parcel, indices: list[int], *, with_caption: bool) -> None:
        """Records that Telegram accepted these pictures (and the caption, if it went along)."""
        parcel.sent.update(indices)
        parcel.caption_sent = parcel.caption_sent or with_caption
        self._save(parcel)

    def drop(self, job_id: int) -> None:
        """Forgets the parcel (delivered, or refused for good)."""
        shutil.rmtree(self._dir(job_id), ignore_errors=True)

    def job_ids(self) -> list[int]:
        """Jobs with a parcel on disk."""
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())
