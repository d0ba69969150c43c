"""The PostgreSQL backend against a real server: restarts, refusals, replicas starting together."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage import postgres
from bot.storage.database import Storage
from bot.storage.records import StorageError
from bot.storage.schema import MIGRATIONS
from tests.services import PostgresServer, free_port


async def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    opened = await asyncio.gather(*(Storage.open(postgres_url) for _ in range(3)))
    try:
        assert [await s.schema_version() for s in opened] == [len(MIGRATIONS)] * 3
        rows = await opened[0].backend.read(
            lambda db: db.fetch("SELECT version FROM schema_version ORDER BY version")
        )
        assert [row[0] for row in rows] == list(range(1, len(MIGRATIONS) + 1))
    finally:
        for storage in opened:
            await storage.close()


async def test_big_telegram_ids_fit(postgres_url: str) -> None:
    storage = await Storage.open(postgres_url)
    try:
        await storage.set_prefs(-1002345678901, image_model="arta/flux", spoiler=True)
        prefs = await storage.get_prefs(-1002345678901)
        assert (prefs.image_model, prefs.spoiler) == ("arta/flux", True)
    finally:
        await storage.close()


async def test_a_write_during_a_server_restart_waits_for_it(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    storage = await Storage.open(postgres_url)
    try:
        await storage.set_prefs(1, image_model="arta/flux")
        await asyncio.to_thread(postgres_server.stop)
        write = asyncio.create_task(storage.set_prefs(1, image_model="prodia/sdxl"))
        await asyncio.to_thread(postgres_server.start)  # meanwhile the write meets no server
        await write
        assert (await storage.get_prefs(1)).image_model == "prodia/sdxl"
        assert storage.busy_waits > 0
    finally:
        await storage.close()


async def test_a_newer_schema_is_refused_with_one_line(postgres_url: str) -> None:
    storage = await Storage.open(postgres_url)
    await storage.backend.write(
        lambda db: db.execute("INSERT INTO schema_version VALUES (?)", len(MIGRATIONS) + 1)
    )
    await storage.close()
    with pytest.raises(StorageError, match="newer version of the bot"):
        await Storage.open(postgres_url)


async def test_an_unreachable_server_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres, "RETRY_SECONDS", 0.3)
    url = f"postgresql://bot:hunter2-secret@127.0.0.1:{free_port()}/bot"
    with pytest.raises(StorageError) as raised:
        await Storage.open(url)
    message = str(raised.value)
    assert "cannot be reached" in message and "DATABASE_URL" in message
    assert "hunter2" not in message and "\n" not in message
    assert f"postgresql://bot@127.0.0.1:{url.split(':')[3].split('/')[0]}/bot" in message


async def test_a_wrong_password_is_refused_without_showing_it(
    postgres_server: PostgresServer,
) -> None:
    url = f"postgresql://nobody:hunter2-secret@127.0.0.1:{postgres_server.port}/postgres"
    with pytest.raises(StorageError) as raised:
        await Storage.open(url)
    assert "hunter2" not in str(raised.value)
