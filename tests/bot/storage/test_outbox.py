"""The outbox and the originals behind 📎, in each place they can live: files in DATA_DIR (one
process), or the database (replicas sharing PostgreSQL; SQLite runs the same SQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.pictures.prepare import Picture
from bot.storage.database import Storage
from bot.storage.originals import (
    PRUNE_EVERY,
    DatabaseOriginals,
    FileOriginals,
    Originals,
)
from bot.storage.outbox import Buttons, DatabaseOutbox, Delivered, FileOutbox, Outbox

PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 64
JPEG = b"\xff\xd8\xff" + b"j" * 64
KEEP_DAYS = 7.0


@dataclass
class Place:
    """Where parcels and originals live; ``other()`` is a second process (another replica)
    reading the same place."""

    outbox: Outbox
    originals: Originals
    other: Callable[[], tuple[Outbox, Originals]]


@pytest.fixture(params=["files", "sqlite", "postgresql"])
async def place(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Place]:
    if request.param == "files":

        def files() -> tuple[Outbox, Originals]:
            return (
                FileOutbox(tmp_path / "outbox"),
                FileOriginals(tmp_path / "originals", KEEP_DAYS),
            )

        yield Place(*files(), files)
        return
    where: Path | str = tmp_path / "bot.sqlite3"
    if request.param == "postgresql":
        where = request.getfixturevalue("postgres_url")
    storage = await Storage.open(where)
    # With PostgreSQL the second reader is another replica: its own pool to the same database.
    second = await Storage.open(where) if request.param == "postgresql" else storage
    yield Place(
        DatabaseOutbox(storage),
        DatabaseOriginals(storage, KEEP_DAYS),
        lambda: (DatabaseOutbox(second), DatabaseOriginals(second, KEEP_DAYS)),
    )
    for opened in {id(storage): storage, id(second): second}.values():
        await opened.close()


def pictures() -> list[Picture]:
    return [Picture(PNG, "image-1.png", True), Picture(JPEG, "image-2.jpg", False)]


BUTTONS = Buttons("Done", {"inline_keyboard": [[{"text": "🔄 Again", "callback_data": "a:1"}]]})


async def test_a_parcel_is_kept_whole_until_dropped(place: Place) -> None:
    await place.outbox.put(
        11, pictures(), "a fox", spoiler=True, caption_above=True, buttons=BUTTONS
    )
    outbox, _ = place.other()
    assert await outbox.job_ids() == [11]
    parcel = await outbox.get(11)
    assert parcel is not None
    assert [(p.data, p.filename, p.as_photo) for p in parcel.pictures] == [
        (PNG, "image-1.png", True),
        (JPEG, "image-2.jpg", False),
    ]
    assert (parcel.caption, parcel.spoiler, parcel.caption_above) == ("a fox", True, True)
    assert parcel.buttons == BUTTONS
    assert parcel.pending == [0, 1]
    await outbox.drop(11)
    assert await place.outbox.get(11) is None
    assert await place.outbox.job_ids() == []


async def test_what_telegram_took_is_remembered_by_the_next_reader(place: Place) -> None:
    parcel = await place.outbox.put(12, pictures(), "an owl", buttons=BUTTONS)
    await place.outbox.mark_sent(parcel, {0: Delivered(501, "file-a")}, with_caption=True)
    outbox, _ = place.other()
    again = await outbox.get(12)
    assert again is not None
    assert again.pending == [1]  # the first picture is never sent twice
    assert again.caption_sent and not again.buttons_sent
    assert again.delivered == {0: Delivered(501, "file-a")}
    await outbox.mark_sent(again, {1: Delivered(502, "file-b")}, with_caption=False)
    await outbox.mark_buttons_sent(again)
    last = await place.outbox.get(12)
    assert last is not None and last.pending == [] and last.buttons_sent
    assert [p.data for p in last.pictures] == [PNG, JPEG]  # saving progress keeps the bytes


async def test_a_parcel_put_again_replaces_the_first(place: Place) -> None:
    await place.outbox.put(13, pictures(), "first")
    await place.outbox.put(13, [Picture(JPEG, "image-1.jpg", True)], "second")
    parcel = await place.other()[0].get(13)
    assert parcel is not None
    assert parcel.caption == "second"
    assert [p.data for p in parcel.pictures] == [JPEG]


async def test_originals_come_back_named_in_drawing_order(place: Place) -> None:
    await place.originals.put(21, [PNG, JPEG])
    _, originals = place.other()
    assert await originals.get(21) == [("original-1.png", PNG), ("original-2.jpg", JPEG)]
    assert await originals.get(22) is None


async def test_originals_are_forgotten_after_the_keeping_time(place: Place) -> None:
    start = 1_000_000.0
    await place.originals.put(23, [PNG], now=start)
    later = start + KEEP_DAYS * 86400 + PRUNE_EVERY + 1
    await place.originals.put(24, [JPEG], now=later)
    assert await place.originals.get(23) is None  # older than the keeping time
    assert await place.originals.get(24) == [("original-1.jpg", JPEG)]


async def test_no_originals_are_kept_when_keeping_is_off(tmp_path: Path) -> None:
    originals = FileOriginals(tmp_path / "originals", 0)
    await originals.put(25, [PNG])
    assert await originals.get(25) is None
    assert not (tmp_path / "originals").exists()
