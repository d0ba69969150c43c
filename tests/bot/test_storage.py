"""The SQLite store: preferences survive reopening, jobs keep their history, the schema migrates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage import MIGRATIONS, JobStatus, Storage


async def test_preferences_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
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


async def test_job_lifecycle_and_redelivery(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "bot.sqlite3")
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
    extra = "ALTER TABLE chat_prefs ADD COLUMN language TEXT;"
    monkeypatch.setattr("bot.storage.MIGRATIONS", (*MIGRATIONS, extra))
    storage = await Storage.open(path)
    assert await storage.schema_version() == len(MIGRATIONS) + 1
    assert (await storage.get_prefs(7)).image_model == "arta/flux"
    await storage.close()
