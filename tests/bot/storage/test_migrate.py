"""migrate-db: a SQLite install's state copied into a real PostgreSQL (and back), the same
values through the Storage API on the other side, idempotent, verified per table, one moment
of a source being written, and one line (never a password) when it cannot start."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.pictures.prepare import Picture
from bot.storage import migrate, postgres
from bot.storage.database import Storage
from bot.storage.migrate import TableCount, copy_database, copy_storage, run_migrate, verify
from bot.storage.originals import DatabaseOriginals, FileOriginals
from bot.storage.outbox import DatabaseOutbox, Delivered, FileOutbox
from bot.storage.records import JobStatus
from bot.storage.sql import Backend, Operation, Sql
from providers.core.polling import StageFigures
from providers.routing.health import Health
from tests.services import free_port

T = TypeVar("T")

SUPERGROUP = -1002345678901
DAY = "2025-03-09"
KEEP = 10**9  # photo prompts: kept for as long as the test needs them
TABLES = {
    "accounts",
    "chat_prefs",
    "grants",
    "holds",
    "jobs",
    "originals",
    "parcel_pictures",
    "parcels",
    "payments",
    "photo_prompts",
    "provider_health",
    "replicas",
    "spends",
    "stage_durations",
    "updates_seen",
}


def sqlite_url(path: Path) -> str:
    return f"sqlite://{path}"


async def fill(path: Path) -> list[int]:
    """A SQLite install with some of everything; the ids of its jobs."""
    storage = await Storage.open(path)
    try:
        await storage.set_prefs(
            SUPERGROUP, image_model="arta/flux", spoiler=True, image_count=3, language="ru"
        )
        await storage.set_prefs(42, caption_above=False, negative_prompt="blur", edit_model="fal")
        jobs = [await make_job(storage, number) for number in range(5)]
        await storage.save_health(
            Health(
                "fal",
                2,
                1.5,
                2.5,
                "fal: down",
                down_until=99.0,
                cool_down=30.0,
                recent=((True, 1.25), (False, 3.5)),
            )
        )
        await storage.save_health(Health("arta", recent=((True, 0.5),)))
        await storage.record_payment("charge-1", 7, 50, 100, period=DAY, now=1.0)
        await storage.record_payment("charge-2", 8, 25, 40, period=DAY, now=2.0)
        await storage.refund_payment("charge-2", force=True, now=3.0)
        await storage.grant_credits(9, 15, 1, period=DAY, now=4.0)
        for key in ("hold-a", "hold-b", "hold-c"):
            await storage.hold_credits(key, 7, "fal", 3, free_per_period=5, period=DAY, now=5.0)
        await storage.settle_hold("hold-a", 2, None, period=DAY, day=DAY, now=6.0)
        for message in (1, 2, 3):
            await storage.remember_photo_prompt(
                SUPERGROUP, message, {"file_id": f"photo-{message}"}, keep_for=KEEP
            )
        await storage.save_paces(
            [
                StageFigures("fal", "flux", "queue", (1.5, 2.25)),
                StageFigures("fal", "flux", "run", (7.0,)),
                StageFigures("fal", "sdxl", "queue", (0.5,)),
            ]
        )
        await storage.beat("replica-1", 10.0)
        for update_id in (100, 101, 102):
            await storage.take_update(update_id, "replica-1", now=11.0, alive=0.0)
        await storage.update_done(100)
        await storage.put_parcel(jobs[1], '{"caption": "waiting"}', [b"\x89PNG-1", b"\x89PNG-2"])
        await storage.put_originals(jobs[1], [("original-1.png", b"\x89PNG-0")], now=12.0)
        return jobs
    finally:
        await storage.close()


async def make_job(storage: Storage, number: int) -> int:
    job = await storage.create_job(
        kind="imagine",
        chat_id=SUPERGROUP,
        user_id=7,
        command_message_id=number,
        prompt=f"a cat, {number}",
        model="arta/flux",
        options={"count": number},
        thread_id=5,
        language="en",
    )
    assert job is not None
    if number % 2:
        await storage.start_attempt(job)
        await storage.update_job(job, status=JobStatus.DONE, result={"seed": number})
        await storage.add_result(job, messages=[number, number + 1])
    return job


async def state(storage: Storage, jobs: list[int]) -> dict[str, Any]:
    """What the bot reads back of everything :func:`fill` wrote."""
    return {
        "prefs": [await storage.get_prefs(chat) for chat in (SUPERGROUP, 42, 1)],
        "jobs": [await storage.get_job(job) for job in jobs],
        "figures": await storage.job_figures(0.0),
        "health": sorted(await storage.load_health(), key=lambda health: health.provider),
        "payments": await storage.list_payments(10),
        "accounts": [await storage.credit_account(user, DAY) for user in (7, 8, 9)],
        "holds": [await storage.held_credits(key) for key in ("hold-a", "hold-b", "hold-c")],
        "spent": await storage.spent_on(DAY),
        "prompts": [
            await storage.photo_prompt(SUPERGROUP, message, keep_for=KEEP) for message in (1, 2, 3)
        ],
        "paces": sorted(await storage.load_paces(), key=lambda f: (f.model, f.stage)),
        "replicas": await storage.replicas_alive(0.0),
        "updates": await storage.backend.read(every_update),
        "parcels": [await storage.parcel(job) for job in jobs],
        "originals": [await storage.originals(job) for job in jobs],
    }


async def every_update(db: Sql) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await db.fetch("SELECT * FROM updates_seen ORDER BY 1")]


async def test_a_copy_brings_every_value_across(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "bot.sqlite3"
    jobs = await fill(source)
    counts = await copy_database(sqlite_url(source), postgres_url, batch=2)
    assert {count.table for count in counts} == TABLES
    assert all(count.source == count.target for count in counts)
    rows = {count.table: count.target for count in counts}
    assert (rows["jobs"], rows["photo_prompts"], rows["holds"], rows["spends"]) == (5, 3, 2, 1)

    sqlite_db, postgres_db = await Storage.open(source), await Storage.open(postgres_url)
    try:
        expected = await state(sqlite_db, jobs)
        assert expected["prefs"][0].image_model == "arta/flux"
        assert expected["jobs"][1].result == {"seed": 1, "messages": [1, 2]}
        assert await state(postgres_db, jobs) == expected
    finally:
        await sqlite_db.close()
        await postgres_db.close()


async def test_a_second_copy_changes_and_duplicates_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    source = tmp_path / "bot.sqlite3"
    jobs = await fill(source)
    first = await copy_database(sqlite_url(source), postgres_url, batch=2)
    postgres_db = await Storage.open(postgres_url)
    try:
        copied = await state(postgres_db, jobs)
    finally:
        await postgres_db.close()

    assert await copy_database(sqlite_url(source), postgres_url, batch=3) == first
    postgres_db = await Storage.open(postgres_url)
    try:
        again = await state(postgres_db, jobs)
    finally:
        await postgres_db.close()
    assert again == copied


async def test_a_job_made_after_the_copy_gets_a_new_id(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "bot.sqlite3"
    jobs = await fill(source)
    await copy_database(sqlite_url(source), postgres_url)
    postgres_db = await Storage.open(postgres_url)
    try:
        new = await make_job(postgres_db, 99)
        await postgres_db.grant_credits(9, 1, 1, period=DAY, now=7.0)  # grants.id: also new
    finally:
        await postgres_db.close()
    assert new > max(jobs)
    counts = {count.table: count for count in await copy_database(sqlite_url(source), postgres_url)}
    assert counts["jobs"] == TableCount("jobs", len(jobs), len(jobs) + 1)
    assert counts["grants"] == TableCount("grants", 1, 2)


async def test_the_copy_goes_back_from_postgresql_to_sqlite(
    tmp_path: Path, postgres_url: str
) -> None:
    source, back = tmp_path / "bot.sqlite3", tmp_path / "back" / "bot.sqlite3"
    jobs = await fill(source)
    await copy_database(sqlite_url(source), postgres_url, batch=2)
    counts = await copy_database(postgres_url, sqlite_url(back), batch=2)
    assert {count.table for count in counts} == TABLES
    assert all(count.source == count.target > 0 for count in counts)
    sqlite_db, returned = await Storage.open(source), await Storage.open(back)
    try:
        assert await state(returned, jobs) == await state(sqlite_db, jobs)
        assert await make_job(returned, 99) > max(jobs)
    finally:
        await sqlite_db.close()
        await returned.close()


class _WritingDuringTheCopy:
    """The target's backend; its first write first adds a job to the source (a bot still
    running) through a connection of its own."""

    def __init__(self, backend: Backend, source: Path | str) -> None:
        self._backend = backend
        self._source = source
        self.name = backend.name
        self.busy_waits = 0
        self.added: int | None = None

    async def read(self, operation: Operation[T]) -> T:
        return await self._backend.read(operation)

    async def write(self, operation: Operation[T]) -> T:
        if self.added is None:
            running = await Storage.open(self._source)
            try:
                self.added = await make_job(running, 1000)
            finally:
                await running.close()
        return await self._backend.write(operation)

    async def schema_version(self) -> int:
        return await self._backend.schema_version()

    async def close(self) -> None:
        await self._backend.close()


@pytest.mark.parametrize("direction", ["sqlite to postgresql", "postgresql to sqlite"])
async def test_a_source_written_meanwhile_is_copied_as_it_was_when_the_copy_began(
    tmp_path: Path, postgres_url: str, direction: str
) -> None:
    sqlite_file = tmp_path / "bot.sqlite3"
    jobs = await fill(sqlite_file)
    source: Path | str = sqlite_file
    target: Path | str = postgres_url
    if direction == "postgresql to sqlite":
        await copy_database(sqlite_url(sqlite_file), postgres_url)
        source, target = postgres_url, tmp_path / "back.sqlite3"
    source_db, target_db = await Storage.open(source), await Storage.open(target)
    writing = _WritingDuringTheCopy(target_db.backend, source)
    target_db.backend = writing
    try:
        counts = {count.table: count for count in await copy_storage(source_db, target_db)}
        assert writing.added is not None
        assert counts["jobs"] == TableCount("jobs", len(jobs), len(jobs))
        assert await target_db.get_job(writing.added) is None
        assert await source_db.get_job(writing.added) is not None
    finally:
        await source_db.close()
        await target_db.close()


async def test_verification_names_the_table_the_target_lacks_rows_of(
    tmp_path: Path, postgres_url: str
) -> None:
    source = tmp_path / "bot.sqlite3"
    await fill(source)
    await copy_database(sqlite_url(source), postgres_url)
    sqlite_db, postgres_db = await Storage.open(source), await Storage.open(postgres_url)
    try:
        await postgres_db.backend.write(lambda db: db.execute("DELETE FROM payments"))
        counts = await verify(sqlite_db, postgres_db)
    finally:
        await sqlite_db.close()
        await postgres_db.close()
    assert [count for count in counts if not count.complete] == [TableCount("payments", 2, 0)]
    out = io.StringIO()
    assert migrate.report(counts, out) == 1
    failures = [line for line in out.getvalue().splitlines() if line.startswith("FAILED")]
    assert failures == ["FAILED: the target has 0 rows of payments, the source 2."]


async def test_the_command_prints_each_table_and_never_the_password(
    tmp_path: Path, postgres_url: str
) -> None:
    source = tmp_path / "bot.sqlite3"
    await fill(source)
    with_password = postgres_url.replace("postgres@", "postgres:hunter2-secret@")
    out = io.StringIO()
    assert await run_migrate(sqlite_url(source), with_password, out) == 0
    lines = out.getvalue().splitlines()
    assert "hunter2" not in out.getvalue()
    assert lines[0] == f"Copying {sqlite_url(source)} to {postgres_url}"
    assert lines[1].split() == ["table", "source", "target"]
    assert "jobs 5 5" in {" ".join(line.split()) for line in lines}
    assert "outbox files 0 0" in {" ".join(line.split()) for line in lines}
    assert lines[-1] == "OK: every row of 17 tables is in the target."  # 15 and 2 of files


async def test_pictures_waiting_and_originals_move_from_files_into_the_tables(
    tmp_path: Path, postgres_url: str
) -> None:
    """A one-process install keeps them as files in DATA_DIR; replicas read them from
    PostgreSQL, so a parcel left waiting is delivered after the move, what was sent of it
    is not sent again, and 📎 still answers."""
    source = tmp_path / "bot.sqlite3"
    jobs = await fill(source)
    picture = Picture(b"\x89PNG\r\n\x1a\n" + b"x" * 32, "image-1.png", True)
    second = Picture(b"\xff\xd8\xff" + b"y" * 32, "image-2.jpg", True)
    files = FileOutbox(tmp_path / "outbox")
    parcel = await files.put(jobs[0], [picture, second], "a heron")
    await files.mark_sent(parcel, {0: Delivered(77, "file-1")}, with_caption=True)
    await FileOriginals(tmp_path / "originals", 7).put(jobs[0], [picture.data, second.data])
    for _ in range(2):  # again: nothing twice
        out = io.StringIO()
        assert await run_migrate(sqlite_url(source), postgres_url, out) == 0
        counted = {" ".join(line.split()) for line in out.getvalue().splitlines()}
        assert {"outbox files 1 1", "originals files 1 1"} <= counted
    target = await Storage.open(postgres_url)
    try:
        moved = await DatabaseOutbox(target).get(jobs[0])
        assert moved is not None
        assert [p.data for p in moved.pictures] == [picture.data, second.data]
        assert moved.caption == "a heron" and moved.pending == [1]
        assert await DatabaseOriginals(target, 7).get(jobs[0]) == [
            ("original-1.png", picture.data),
            ("original-2.jpg", second.data),
        ]
    finally:
        await target.close()


async def test_a_missing_source_is_one_line_and_status_2(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sqlite3"
    out = io.StringIO()
    target = "postgresql://bot:hunter2-secret@127.0.0.1:1/bot"
    assert await run_migrate(sqlite_url(missing), target, out) == 2
    assert out.getvalue() == f"migrate-db: The source database {missing} does not exist.\n"
    assert not missing.exists()


@pytest.mark.parametrize(
    "address",
    ["mysql://bot:hunter2-secret@db/bot", "bot.sqlite3", "sqlite://relative/bot.sqlite3"],
)
async def test_an_unknown_address_is_one_line_and_status_2(tmp_path: Path, address: str) -> None:
    source = tmp_path / "bot.sqlite3"
    await fill(source)
    out = io.StringIO()
    assert await run_migrate(sqlite_url(source), address, out) == 2
    assert out.getvalue().startswith("migrate-db: Unknown database address")
    assert out.getvalue().count("\n") == 1 and "hunter2" not in out.getvalue()


async def test_the_same_database_twice_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    await fill(source)
    out = io.StringIO()
    assert await run_migrate(sqlite_url(source), f"sqlite://{tmp_path}/./bot.sqlite3", out) == 2
    assert "the same database" in out.getvalue()


async def test_an_unreachable_target_is_one_line_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "RETRY_SECONDS", 0.3)
    source = tmp_path / "bot.sqlite3"
    await fill(source)
    out, err = io.StringIO(), io.StringIO()
    target = f"postgresql://bot:hunter2-secret@127.0.0.1:{free_port()}/bot"
    assert await run_migrate(sqlite_url(source), target, out, err=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue().startswith("migrate-db: The database postgresql://bot@127.0.0.1:")
    assert err.getvalue().count("\n") == 1 and "hunter2" not in err.getvalue()
