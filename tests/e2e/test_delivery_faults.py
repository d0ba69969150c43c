"""Telegram failing while the pictures go out: transient faults are ridden out, permanent
refusals explained, a chat that blocked the bot is left alone, surprises end visibly."""

from __future__ import annotations

import pytest

from bot.storage.records import JobStatus
from tests.e2e.conftest import World, runtime
from tests.fakes.arta import png_bytes

USER = 601


async def done(world: World, app: object, job_id: int) -> None:
    """Waits until the job's row says done (the status message goes after that)."""
    storage = runtime(app).storage  # type: ignore[arg-type]

    async def is_done() -> bool:
        row = await storage.get_job(job_id)
        return row is not None and row.status == JobStatus.DONE

    status = next(m for m in world.tg.bot_messages(USER) if m.kind == "text")
    await world.tg.wait_for(lambda: status.deleted)
    assert await is_done()


@pytest.mark.parametrize(
    ("method", "code", "times", "count"),
    [("sendPhoto", 502, 1, 1), ("sendMediaGroup", 500, 2, 3)],
)
async def test_server_errors_on_sending_are_retried_and_the_pictures_arrive_once(
    world: World, method: str, code: int, times: int, count: int
) -> None:
    tg = world.tg
    tg.fail_next(method, error_code=code, times=times)
    async with world.bot() as app:
        command = tg.send_text(USER, f"/imagine a fox --n {count}")
        photos = await world.photos_for(USER, command, count)
        assert [p.photo for p in photos] == [png_bytes(i) for i in range(count)]
        assert len(tg.calls(method)) == times + 1
        await done(world, app, 1)
        assert len([m for m in tg.bot_messages(USER) if m.kind == "photo"]) == count
        assert not list((world.data_dir / "outbox").glob("*/*"))  # nothing left behind


async def test_a_slow_upload_is_waited_for(world: World) -> None:
    tg = world.tg
    tg.slow_next("sendPhoto", 6.0)  # longer than python-telegram-bot's default 5 s read timeout
    async with world.bot() as app:
        command = tg.send_text(USER, "/imagine a patient fox")
        await world.photos_for(USER, command, 1)
        await done(world, app, 1)
        assert len(tg.calls("sendPhoto")) == 1


async def test_repeated_flood_refusals_are_waited_out(world: World) -> None:
    tg = world.tg
    tg.fail_next("sendPhoto", error_code=429, retry_after=1, times=4)
    async with world.bot() as app:
        command = tg.send_text(USER, "/imagine a fox in a hurry")
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.photo == png_bytes(0)
        await done(world, app, 1)
        assert [c.status for c in tg.calls("sendPhoto")] == [429] * 4 + [200]


async def test_photos_refused_for_good_go_as_documents(world: World) -> None:
    tg = world.tg
    tg.fail_next("sendPhoto", error_code=400, description="Bad Request: IMAGE_PROCESS_FAILED")
    async with world.bot() as app:
        command = tg.send_text(USER, "/imagine an unusual fox")
        [document] = await world.photos_for(USER, command, 1)
        assert document.kind == "document"
        assert document.caption and document.caption.startswith("an unusual fox")
        await done(world, app, 1)


async def test_documents_refused_too_tell_the_user_exactly_why(world: World) -> None:
    tg = world.tg
    tg.fail_next("sendPhoto", error_code=400, description="Bad Request: IMAGE_PROCESS_FAILED")
    tg.fail_next("sendDocument", error_code=400, description="Bad Request: file is too big")
    async with world.bot() as app:
        command = tg.send_text(USER, "/imagine an impossible fox")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "Telegram refused the images" in (status.text or ""))
        assert "file is too big" in (status.text or "").lower()
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.FAILED
        assert not list((world.data_dir / "outbox").glob("*"))


async def test_a_chat_that_blocked_the_bot_ends_its_jobs_quietly(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot(max_jobs_per_user=2) as app:
        first = tg.send_text(USER, "/imagine fox one")
        second = tg.send_text(USER, "/imagine fox two")
        for command in (first, second):
            await world.status_of(USER, command)
        await tg.wait_for(lambda: len(arta.job_list) == 2)
        tg.user_blocks_bot(USER, tell_bot=False)  # first seen when an upload is refused
        arta.queue_polls = arta.progress_polls = 0
        storage = runtime(app).storage

        async def rows() -> list[JobStatus]:
            return [r.status for r in [await storage.get_job(1), await storage.get_job(2)] if r]

        await tg.wait_for(lambda: tg.calls("sendPhoto"))
        await tg.wait_for(lambda: not runtime(app).jobs.count(USER))
        assert await rows() == [JobStatus.FAILED, JobStatus.FAILED]
        # No retries: at most one refused send per job, and no failure notes for nobody.
        assert len(tg.calls("sendPhoto")) <= 2
        assert all(c.status == 403 for c in tg.calls("sendPhoto"))
        notes = [c.params.get("text", "") for c in tg.calls("editMessageText")]
        assert not [t for t in notes if t.startswith(("⚠️", "⏹"))]
        row = await storage.get_job(1)
        assert row is not None and row.error and "blocked" in row.error


async def test_an_unexpected_error_ends_the_job_visibly(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr("bot.jobs.imagine.render.caption", broken)
    tg = world.tg
    async with world.bot() as app:
        command = tg.send_text(USER, "/imagine a fox that finds a bug")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "Something went wrong on our side" in (status.text or ""))
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.FAILED
    assert "RuntimeError: a bug" in caplog.text
