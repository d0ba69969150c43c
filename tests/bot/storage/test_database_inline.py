"""Jobs that live in an inline message: stored, found by that message, settled after a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage.database import Storage
from bot.storage.records import JobStatus
from bot.storage.schema import MIGRATIONS


async def test_an_inline_job_is_found_by_its_message_and_settled_after_a_crash(
    database: Path | str,
) -> None:
    storage = await Storage.open(database)
    try:
        job_id = await storage.create_job(
            kind="inline",
            chat_id=7,
            user_id=7,
            command_message_id=100000001,  # the update that chose the result
            prompt="a fox",
            model="arta/flux",
            inline_message_id="AgAAAfox",
        )
        assert job_id is not None
        found = await storage.job_for_inline_message("AgAAAfox")
        assert found is not None and found.id == job_id and found.status_message_id is None
        assert await storage.job_for_inline_message("AgAAAother") is None
        await storage.update_job(job_id, status=JobStatus.FAILED, final_text="⚠️ ARTA: down")
        [unsettled] = await storage.unsettled_jobs()  # its message still says "drawing…"
        assert unsettled.inline_message_id == "AgAAAfox"
    finally:
        await storage.close()


async def test_jobs_from_before_inline_mode_keep_working(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        for number, script in enumerate(MIGRATIONS[:5], start=1):
            db.executescript(f"{script}\nPRAGMA user_version = {number};")
        db.execute(
            "INSERT INTO jobs (kind, chat_id, user_id, command_message_id, prompt, model, status,"
            " created_at) VALUES ('imagine', 1, 1, 3, 'a fox', 'arta/flux', 'running', 0)"
        )
    storage = await Storage.open(path)
    try:
        [old] = await storage.unfinished_jobs()
        assert old.inline_message_id is None and old.prompt == "a fox"
        assert await storage.schema_version() == len(MIGRATIONS)
    finally:
        await storage.close()
