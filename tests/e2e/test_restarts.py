"""Stopping and starting the bot (in process): what a restart keeps and finishes."""

from __future__ import annotations

import sqlite3

import pytest

from bot.storage.database import Storage
from bot.storage.records import JobStatus
from tests.e2e.conftest import World, runtime
from tests.fakes.arta import png_bytes

USER = 1101


async def test_a_job_cut_short_by_a_stop_follows_its_upstream_job_again(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot():
        command = tg.send_text(USER, "/imagine a fox across a restart")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "waiting in line at arta/flux" in (status.text or ""))
    assert status.text and status.text.startswith("⏸ The bot is restarting")
    arta.queue_polls = 0
    async with world.bot() as app:
        [photo] = await world.photos_for(USER, command, 1)
        await tg.wait_for(lambda: status.deleted)
        [only] = arta.job_list  # ARTA's record was polled again, never submitted twice
        assert photo.caption and photo.caption.endswith(f"seed {only.form['seed']}")
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.DONE and row.attempts == 2
    assert any("picking up the picture where it was" in (v.text or "") for v in status.history)
    assert len([m for m in tg.bot_messages(USER) if m.kind == "photo"]) == 1


async def test_a_stream_cut_short_by_a_stop_is_drawn_again_with_the_same_seed(
    world: World,
) -> None:
    tg, sd35 = world.tg, world.sd35
    sd35.outcome, sd35.heartbeat_interval = "heartbeats", 0.05
    async with world.bot(default_image_model="sd35/sd-3.5"):
        command = tg.send_text(USER, "/imagine a fox in a stream")
        await tg.wait_for(lambda: sd35.jobs)
    sd35.outcome = "complete"
    async with world.bot(default_image_model="sd35/sd-3.5"):
        [photo] = await world.photos_for(USER, command, 1)
    first, second = sd35.jobs.values()  # a Space's stream cannot be followed again
    assert first.data[2] == second.data[2] and first.data[3] is second.data[3] is False
    assert photo.caption and photo.caption.startswith("a fox in a stream")


async def test_a_job_cut_short_twice_is_closed_with_a_note(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot():
        command = tg.send_text(USER, "/imagine an unlucky fox")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "waiting in line" in (status.text or ""))
    async with world.bot():
        await tg.wait_for(lambda: "picking up the picture" in (status.text or ""))
    async with world.bot() as app:
        await tg.wait_for(lambda: (status.text or "").startswith("⚠️ Interrupted"))
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.FAILED
    assert len(arta.job_list) == 1


async def test_pictures_telegram_would_not_take_are_sent_at_the_next_start(
    world: World,
) -> None:
    tg = world.tg
    tg.fail_next("sendPhoto", error_code=502, times=1000)  # a long outage of uploads
    async with world.bot(delivery_deadline=1) as app:
        command = tg.send_text(USER, "/imagine a fox that waits")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "saved and will be sent" in (status.text or ""))
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.DELIVERING
    assert list((world.data_dir / "outbox" / "1").glob("image-1.png"))
    tg.clear_failures()  # Telegram is back
    async with world.bot() as app:
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.caption and photo.caption.startswith("a fox that waits")
        assert [b["callback_data"] for b in photo.buttons][:1] == ["r:1:a"]  # buttons kept
        await tg.wait_for(lambda: status.deleted)
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.DONE
    assert len(world.arta.job_list) == 1  # delivered from the outbox, not drawn again
    assert not list((world.data_dir / "outbox").glob("*"))


async def test_pictures_held_up_by_an_outage_are_sent_when_it_ends(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.jobs.life.RETRY_LATER", 0.5)
    tg = world.tg
    tg.fail_next("sendPhoto", error_code=502, times=1000)
    async with world.bot(delivery_deadline=1) as app:
        command = tg.send_text(USER, "/imagine a fox in an outage")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "saved and will be sent" in (status.text or ""))
        tg.clear_failures()  # the outage ends
        [photo] = await world.photos_for(USER, command, 1)
        await tg.wait_for(lambda: status.deleted)
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.DONE
    assert photo.caption and photo.caption.startswith("a fox in an outage")
    assert len(world.arta.job_list) == 1


async def test_a_locked_database_is_waited_for(world: World) -> None:
    tg = world.tg
    async with world.bot() as app:
        storage = runtime(app).storage
        other = sqlite3.connect(world.data_dir / "bot.sqlite3", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another program holds the database
        try:
            command = tg.send_text(USER, "/imagine a fox behind a lock")
            await tg.wait_for(lambda: storage.busy_waits > 0)
        finally:
            other.execute("COMMIT")
            other.close()
        await world.photos_for(USER, command, 1)
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: status.deleted)
        row = await storage.get_job(1)
        assert row is not None and row.status == JobStatus.DONE


async def test_a_stored_job_that_cannot_run_again_is_closed_with_a_note(world: World) -> None:
    storage = await Storage.open(world.data_dir / "bot.sqlite3")
    await storage.create_job(
        kind="imagine",
        chat_id=USER,
        user_id=USER,
        command_message_id=1,
        prompt="a fox",
        model="arta/nonexistent",
    )
    await storage.close()
    world.tg.add_chat(USER)
    async with world.bot() as app:
        await world.tg.wait_for(
            lambda: any("Interrupted" in (m.text or "") for m in world.tg.bot_messages(USER))
        )
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.FAILED


async def test_a_question_cut_short_is_asked_again_with_its_photo(world: World) -> None:
    tg = world.tg
    tg.hold("getFile")  # the bot is fetching the photo when it stops
    async with world.bot():
        command = tg.send_photo(USER, png_bytes(2), caption="/ask what colour is this?")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: tg.held("getFile") == 1)
    tg.release("getFile", drop=True)
    assert status.text and status.text.startswith("⏸")
    async with world.bot() as app:
        answer = await world.reply_to(USER, command, lambda m: m is not status and bool(m.text))
        assert "red square" in (answer.text or "")
        await tg.wait_for(lambda: status.deleted)
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.DONE
    [submission] = world.dynaspark.submissions
    assert submission.file is not None and submission.file.value == png_bytes(2)
