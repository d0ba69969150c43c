"""The SQLite store: preferences survive reopening, jobs keep their history, the schema migrates."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.storage.database import Storage
from bot.storage.records import JobStatus, StorageError
from bot.storage.schema import MIGRATIONS


async def test_preferences_survive_reopening(database: Path | str) -> None:
    path = database
    storage = await Storage.open(path)
    await storage.set_prefs(-100, image_model="sd35/sd-3.5")
    await storage.set_prefs(-100, vision_model="dynaspark/gemini-2.0-flash")
    await storage.close()

    storage = await Storage.open(path)
    prefs = await storage.get_prefs(-100)
    assert prefs.image_model == "sd35/sd-3.5"
    assert prefs.vision_model == "dynaspark/gemini-2.0-flash"
    assert (await storage.get_prefs(42)).image_model is None
    await storage.close()


async def test_job_lifecycle_and_redelivery(database: Path | str) -> None:
    storage = await Storage.open(database)
    job_id = await storage.create_job(
        kind="imagine",
        chat_id=1,
        user_id=2,
        command_message_id=3,
        prompt="fox",
        model="arta/flux",
        options={"n": 2},
    )
    assert job_id is not None
    again = await storage.create_job(
        kind="imagine",
        chat_id=1,
        user_id=2,
        command_message_id=3,
        prompt="fox",
        model="arta/flux",
    )
    assert again is None  # the same command delivered twice makes one job
    await storage.update_job(job_id, status=JobStatus.RUNNING, status_message_id=9)
    assert [j.id for j in await storage.unfinished_jobs()] == [job_id]
    await storage.update_job(job_id, status=JobStatus.FAILED, error="ARTA: down")
    row = await storage.get_job(job_id)
    assert row is not None
    assert (row.status, row.error, row.options, row.status_message_id) == (
        JobStatus.FAILED,
        "ARTA: down",
        {"n": 2},
        9,
    )
    assert await storage.unfinished_jobs() == []
    await storage.close()


async def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    storage = await Storage.open(path)
    assert await storage.schema_version() == len(MIGRATIONS)
    await storage.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_an_older_database_is_migrated_in_place(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bot.sqlite3"
    storage = await Storage.open(path)
    await storage.set_prefs(7, image_model="arta/flux")
    await storage.close()
    extra = "ALTER TABLE chat_prefs ADD COLUMN example_only TEXT;"
    monkeypatch.setattr("bot.storage.sqlite.MIGRATIONS", (*MIGRATIONS, extra))
    storage = await Storage.open(path)
    assert await storage.schema_version() == len(MIGRATIONS) + 1
    assert (await storage.get_prefs(7)).image_model == "arta/flux"
    await storage.close()


async def test_a_database_locked_for_too_long_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.storage.sqlite.LOCKED_RETRY_SECONDS", 0.3)
    monkeypatch.setattr("bot.storage.sqlite.BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "bot.sqlite3"
    storage = await Storage.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError, match="stayed locked"):
            await storage.set_prefs(1, image_model="arta/flux")
    finally:
        other.execute("COMMIT")
        other.close()
    await storage.set_prefs(1, image_model="arta/flux")  # and works again afterwards
    await storage.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"this is not sqlite at all" * 100, "is damaged"), (None, "newer version")],
)
async def test_an_unusable_database_is_refused_with_one_line(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bot.sqlite3"
    if content is None:
        with sqlite3.connect(path) as db:
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    else:
        path.write_bytes(content)
    with pytest.raises(StorageError, match=message) as caught:
        await Storage.open(path)
    assert "\n" not in str(caught.value)


async def test_files_are_the_owners_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    storage = await Storage.open(data / "bot.sqlite3")
    await storage.set_prefs(1, image_model="arta/flux")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-shm"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    await storage.close()


async def test_a_write_completes_even_when_its_caller_is_cancelled(database: Path | str) -> None:
    storage = await Storage.open(database)
    task = asyncio.create_task(
        storage.create_job(
            kind="imagine", chat_id=1, user_id=1, command_message_id=5, prompt="p", model="m"
        )
    )
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await storage.job_for_command(1, 5, "imagine") is not None
    await storage.close()


async def test_an_older_database_keeps_its_prefs_and_gains_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        for number, script in enumerate(MIGRATIONS[:4], start=1):
            db.executescript(f"{script}\nPRAGMA user_version = {number};")
        db.execute(
            "INSERT INTO chat_prefs (chat_id, aspect_ratio, image_count, language, updated_at)"
            " VALUES (5, '16:9', 2, 'ru', 0)"
        )
    storage = await Storage.open(path)
    try:
        prefs = await storage.get_prefs(5)
        assert (prefs.aspect_ratio, prefs.image_count, prefs.language) == ("16:9", 2, "ru")
        assert prefs.negative_prompt is None and prefs.spoiler is None
        await storage.set_prefs(5, negative_prompt="text", spoiler=True, caption_above=False)
        await storage.move_chat(5, -1005)
        moved = await storage.get_prefs(-1005)
        assert (moved.negative_prompt, moved.spoiler, moved.caption_above) == ("text", True, False)
        assert moved.aspect_ratio == "16:9"
    finally:
        await storage.close()


async def test_photo_prompts_are_kept_for_their_time_and_then_pruned(database: Path | str) -> None:
    path = database
    photo = {"file_id": "AgAC-1", "filename": "photo.jpg", "mime": "image/jpeg"}
    storage = await Storage.open(path)
    await storage.remember_photo_prompt(7, 11, photo, keep_for=3600)
    await storage.close()
    storage = await Storage.open(path)  # a restart keeps them
    try:
        assert await storage.photo_prompt(7, 11, keep_for=3600) == photo
        assert await storage.photo_prompt(7, 12, keep_for=3600) is None
        assert await storage.photo_prompt(8, 11, keep_for=3600) is None
        assert await storage.photo_prompt(7, 11, keep_for=0) is None  # too old to answer
        await storage.remember_photo_prompt(7, 13, photo, keep_for=0)  # prunes the older ones
        assert await storage.photo_prompt(7, 11, keep_for=3600) is None
        assert await storage.photo_prompt(7, 13, keep_for=3600) == photo
    finally:
        await storage.close()
