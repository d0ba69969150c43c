"""kill -9 at every stage of a job, then a restart: each command is answered exactly once."""

from __future__ import annotations

import signal
import sqlite3
from typing import Any

from tests.e2e.conftest import World
from tests.e2e.process import bot_process, start_bot, stop
from tests.fakes.telegram import StoredMessage

USER = 1201


def row(world: World, job_id: int) -> dict[str, Any]:
    with sqlite3.connect(world.data_dir / "bot.sqlite3") as db:
        db.row_factory = sqlite3.Row
        found = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert found is not None
    return dict(found)


def photos(world: World, chat_id: int = USER) -> list[StoredMessage]:
    return [m for m in world.tg.bot_messages(chat_id) if m.kind == "photo"]


def replies(world: World, command: dict[str, Any]) -> list[StoredMessage]:
    return [m for m in world.tg.bot_messages(USER) if m.reply_to == command["message_id"]]


async def test_killed_before_the_status_reply(world: World) -> None:
    tg = world.tg
    tg.hold("sendMessage")
    process = await start_bot(world)
    command = tg.send_text(USER, "/imagine a fox before the reply")
    await tg.wait_for(lambda: tg.held("sendMessage") == 1, timeout=30)
    await stop(process, signal.SIGKILL)
    tg.release("sendMessage", drop=True)  # the reply never reached Telegram
    async with bot_process(world):
        await world.photos_for(USER, command, 1)
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: status.deleted)
    assert len(photos(world)) == 1
    assert len([m for m in replies(world, command) if m.kind == "text"]) == 1
    assert len(world.arta.job_list) == 1
    assert row(world, 1)["status"] == "done"


async def test_killed_while_queued_and_while_generating(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    process = await start_bot(world, MAX_CONCURRENT_JOBS="1")
    drawing = tg.send_text(USER, "/imagine a fox being drawn")
    waiting = tg.send_text(7777, "/imagine a fox in line")
    waiting_status = await world.status_of(7777, waiting)
    await tg.wait_for(lambda: "#1 in line" in (waiting_status.text or ""), timeout=30)
    drawing_status = await world.status_of(USER, drawing)
    await tg.wait_for(lambda: "waiting in line at arta" in (drawing_status.text or ""), timeout=30)
    await stop(process, signal.SIGKILL)
    arta.queue_polls = 0
    async with bot_process(world, MAX_CONCURRENT_JOBS="1"):
        await world.photos_for(USER, drawing, 1)
        await world.photos_for(7777, waiting, 1)
        await tg.wait_for(lambda: waiting_status.deleted)
        first_status = await world.status_of(USER, drawing)
        await tg.wait_for(lambda: first_status.deleted)
    assert len(photos(world)) == 1 and len(photos(world, 7777)) == 1
    drawn = [job for job in arta.job_list if job.form["prompt"] == "a fox being drawn"]
    assert len(drawn) == 1  # its ARTA record was followed again, not submitted twice
    assert row(world, 1)["status"] == "done" and row(world, 2)["status"] == "done"


async def test_killed_while_sending(world: World) -> None:
    tg = world.tg
    tg.hold("sendPhoto")
    process = await start_bot(world)
    command = tg.send_text(USER, "/imagine a fox on its way")
    await tg.wait_for(lambda: tg.held("sendPhoto") == 1, timeout=30)
    await stop(process, signal.SIGKILL)
    tg.release("sendPhoto", drop=True)
    async with bot_process(world):
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.caption and photo.caption.startswith("a fox on its way")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: status.deleted)
    assert len(world.arta.job_list) == 1  # sent from the outbox, not drawn again
    assert row(world, 1)["status"] == "done"
    assert not list((world.data_dir / "outbox").glob("*"))


async def test_killed_after_delivery(world: World) -> None:
    tg = world.tg
    tg.hold("deleteMessage")  # the status message is about to be removed
    process = await start_bot(world)
    command = tg.send_text(USER, "/imagine a fox already home")
    await world.photos_for(USER, command, 1)
    await tg.wait_for(lambda: tg.held("deleteMessage") == 1, timeout=30)
    await stop(process, signal.SIGKILL)
    tg.release("deleteMessage", drop=True)
    status = await world.status_of(USER, command)
    assert not status.deleted
    async with bot_process(world):
        await tg.wait_for(lambda: status.deleted, timeout=30)
    assert len(photos(world)) == 1 and len(world.arta.job_list) == 1
    assert row(world, 1)["status"] == "done"
