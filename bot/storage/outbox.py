"""Finished pictures kept in DATA_DIR/outbox until Telegram has accepted them.

A parcel is one job's pictures (files readable by the owner only) and a small JSON manifest
with the caption and which pictures Telegram already took, so a restart or a long outage
sends the rest later, and nothing twice that was acknowledged.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.pictures.prepare import Picture
from bot.storage.full import FullDisk, is_full

MANIFEST = "parcel.json"


@dataclass(frozen=True)
class Buttons:
    """The keyboard under a result (Telegram's JSON form) and the text of the message that
    carries it when the pictures came as an album (albums cannot carry a keyboard)."""

    text: str
    markup: dict[str, Any]


@dataclass(frozen=True)
class Delivered:
    """Where one picture landed: its message and Telegram's file id."""

    message_id: int
    file_id: str


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
    buttons: Buttons | None = None  # the keyboard under the result
    buttons_sent: bool = False
    delivered: dict[int, Delivered] = field(default_factory=dict)

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
        self.disk = FullDisk()  # a full disk, told to the operator once

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
        buttons: Buttons | None = None,
    ) -> Parcel:
        """Stores the pictures of a finished job and how to show them; returns its parcel.

        Raises StorageFull (and keeps nothing) when the disk has no room for them."""
        parcel = Parcel(
            job_id,
            caption,
            list(pictures),
            spoiler=spoiler,
            caption_above=caption_above,
            buttons=buttons,
        )
        folder = self._dir(job_id)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
            for picture in pictures:
                _write(folder / picture.filename, picture.data)
            self._write_manifest(parcel)
        except OSError as error:
            if not is_full(error):
                raise
            shutil.rmtree(folder, ignore_errors=True)
            raise self.disk.failed(self.root, error) from error
        self.disk.worked(self.root)
        return parcel

    def _save(self, parcel: Parcel) -> None:
        """Updates the manifest; on a full disk the old one stays (a restart may then send a
        picture twice, which beats failing a delivery Telegram already took)."""
        try:
            self._write_manifest(parcel)
        except OSError as error:
            if not is_full(error):
                raise
            self.disk.failed(self.root, error)

    def _write_manifest(self, parcel: Parcel) -> None:
        manifest = {
            "caption": parcel.caption,
            "pictures": [{"file": p.filename, "as_photo": p.as_photo} for p in parcel.pictures],
            "sent": sorted(parcel.sent),
            "caption_sent": parcel.caption_sent,
            "spoiler": parcel.spoiler,
            "caption_above": parcel.caption_above,
            "buttons": asdict(parcel.buttons) if parcel.buttons else None,
            "buttons_sent": parcel.buttons_sent,
            "delivered": {str(i): asdict(d) for i, d in parcel.delivered.items()},
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
            buttons = manifest.get("buttons")
            return Parcel(
                job_id,
                manifest["caption"],
                pictures,
                set(manifest["sent"]),
                bool(manifest["caption_sent"]),
                bool(manifest.get("spoiler", False)),
                bool(manifest.get("caption_above", False)),
                Buttons(**buttons) if buttons else None,
                bool(manifest.get("buttons_sent", False)),
                {int(i): Delivered(**d) for i, d in manifest.get("delivered", {}).items()},
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def mark_sent(
        self, parcel: Parcel, delivered: dict[int, Delivered], *, with_caption: bool
    ) -> None:
        """Records that Telegram accepted these pictures, where they landed (and that the
        caption went along, if it did)."""
        parcel.sent.update(delivered)
        parcel.delivered.update(delivered)
        parcel.caption_sent = parcel.caption_sent or with_caption
        self._save(parcel)

    def mark_buttons_sent(self, parcel: Parcel) -> None:
        """Records that the keyboard under the result went out."""
        parcel.buttons_sent = True
        self._save(parcel)

    def drop(self, job_id: int) -> None:
        """Forgets the parcel (delivered, or refused for good)."""
        shutil.rmtree(self._dir(job_id), ignore_errors=True)

    def job_ids(self) -> list[int]:
        """Jobs with a parcel on disk."""
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())
