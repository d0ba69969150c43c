"""Finished pictures kept until Telegram has accepted them.

A parcel is one job's pictures and a small JSON manifest with the caption and which pictures
Telegram already took, so a restart or a long outage sends the rest later, and nothing twice
that was acknowledged. One process keeps parcels in DATA_DIR/outbox (:class:`FileOutbox`);
replicas sharing PostgreSQL keep them in the database (:class:`DatabaseOutbox`), so that any
replica delivers a parcel another one left.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.pictures.prepare import Picture
from bot.storage.full import FullDisk, is_full
from bot.storage.parcels import ParcelsRepository

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


def manifest_of(parcel: Parcel) -> str:
    """The parcel without its pictures' bytes, as JSON (what was sent, where it landed)."""
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
    return json.dumps(manifest)


def parcel_from(job_id: int, manifest: str | bytes, read: Callable[[str], bytes]) -> Parcel | None:
    """The parcel a manifest describes, its pictures' bytes from ``read(file name)``; None
    when it cannot be read."""
    try:
        stored = json.loads(manifest)
        pictures = [
            Picture(read(item["file"]), item["file"], item["as_photo"])
            for item in stored["pictures"]
        ]
        buttons = stored.get("buttons")
        return Parcel(
            job_id,
            stored["caption"],
            pictures,
            set(stored["sent"]),
            bool(stored["caption_sent"]),
            bool(stored.get("spoiler", False)),
            bool(stored.get("caption_above", False)),
            Buttons(**buttons) if buttons else None,
            bool(stored.get("buttons_sent", False)),
            {int(i): Delivered(**d) for i, d in stored.get("delivered", {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


class Outbox(ABC):
    """The parcels of finished jobs until Telegram took them: :class:`FileOutbox` (DATA_DIR)
    or :class:`DatabaseOutbox` (PostgreSQL, shared by replicas)."""

    async def put(
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

        Raises StorageFull (and keeps nothing) when there is no room for them."""
        parcel = Parcel(
            job_id,
            caption,
            list(pictures),
            spoiler=spoiler,
            caption_above=caption_above,
            buttons=buttons,
        )
        await self.store(parcel)
        return parcel

    async def mark_sent(
        self, parcel: Parcel, delivered: dict[int, Delivered], *, with_caption: bool
    ) -> None:
        """Records that Telegram accepted these pictures, where they landed (and that the
        caption went along, if it did)."""
        parcel.sent.update(delivered)
        parcel.delivered.update(delivered)
        parcel.caption_sent = parcel.caption_sent or with_caption
        await self._save(parcel)

    async def mark_buttons_sent(self, parcel: Parcel) -> None:
        """Records that the keyboard under the result went out."""
        parcel.buttons_sent = True
        await self._save(parcel)

    @abstractmethod
    async def get(self, job_id: int) -> Parcel | None:
        """The job's parcel, or None when there is none (or it cannot be read)."""

    @abstractmethod
    async def drop(self, job_id: int) -> None:
        """Forgets the parcel (delivered, or refused for good)."""

    @abstractmethod
    async def job_ids(self) -> list[int]:
        """Jobs with a parcel."""

    @abstractmethod
    async def store(self, parcel: Parcel) -> None:
        """Stores a parcel as it is (pictures, and what was sent of them), replacing any the
        job had."""

    @abstractmethod
    async def _save(self, parcel: Parcel) -> None:
        """Updates what was sent of a stored parcel."""


class FileOutbox(Outbox):
    """The parcels under ``root`` (DATA_DIR/outbox): a folder per job with its pictures (files
    readable by the owner only) and a manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.disk = FullDisk()  # a full disk, told to the operator once

    def _dir(self, job_id: int) -> Path:
        return self.root / str(job_id)

    async def store(self, parcel: Parcel) -> None:
        await asyncio.to_thread(self._write_parcel, parcel)

    def _write_parcel(self, parcel: Parcel) -> None:
        folder = self._dir(parcel.job_id)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
            for picture in parcel.pictures:
                _write(folder / picture.filename, picture.data)
            _write(folder / MANIFEST, manifest_of(parcel).encode())
        except OSError as error:
            if not is_full(error):
                raise
            shutil.rmtree(folder, ignore_errors=True)
            raise self.disk.failed(self.root, error) from error
        self.disk.worked(self.root)

    async def _save(self, parcel: Parcel) -> None:
        """Updates the manifest; on a full disk the old one stays (a restart may then send a
        picture twice, which beats failing a delivery Telegram already took)."""
        await asyncio.to_thread(self._save_manifest, parcel)

    def _save_manifest(self, parcel: Parcel) -> None:
        try:
            _write(self._dir(parcel.job_id) / MANIFEST, manifest_of(parcel).encode())
        except OSError as error:
            if not is_full(error):
                raise
            self.disk.failed(self.root, error)

    async def get(self, job_id: int) -> Parcel | None:
        folder = self._dir(job_id)

        def read() -> Parcel | None:
            try:
                manifest = (folder / MANIFEST).read_bytes()
            except OSError:
                return None
            return parcel_from(job_id, manifest, lambda name: (folder / name).read_bytes())

        return await asyncio.to_thread(read)

    async def drop(self, job_id: int) -> None:
        await asyncio.to_thread(shutil.rmtree, self._dir(job_id), True)

    async def job_ids(self) -> list[int]:
        def listed() -> list[int]:
            if not self.root.is_dir():
                return []
            return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())

        return await asyncio.to_thread(listed)


class DatabaseOutbox(Outbox):
    """The parcels in the database (PostgreSQL): every replica can deliver every parcel."""

    def __init__(self, storage: ParcelsRepository) -> None:
        self.storage = storage

    async def store(self, parcel: Parcel) -> None:
        await self.storage.put_parcel(
            parcel.job_id, manifest_of(parcel), [picture.data for picture in parcel.pictures]
        )

    async def _save(self, parcel: Parcel) -> None:
        await self.storage.save_manifest(parcel.job_id, manifest_of(parcel))

    async def get(self, job_id: int) -> Parcel | None:
        stored = await self.storage.parcel(job_id)
        if stored is None:
            return None
        manifest, pictures = stored
        names = [item["file"] for item in json.loads(manifest).get("pictures", [])]
        by_name = dict(zip(names, pictures, strict=False))
        return parcel_from(job_id, manifest, lambda name: by_name[name])

    async def drop(self, job_id: int) -> None:
        await self.storage.drop_parcel(job_id)

    async def job_ids(self) -> list[int]:
        return await self.storage.parcel_ids()
