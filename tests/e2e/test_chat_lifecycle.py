"""Telegram's chat lifecycle: groups that become supergroups, /cancel at any moment, and a
group member's flood that must not hold the others back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from bot.i18n import translator
from bot.jobs.life import CHAT_GONE
from bot.storage.records import JobStatus
from bot.telegram import render
from tests.e2e.conftest import World, runtime
from tests.fakes.telegram import BotApiEmulator, Call

GROUP = -4001  # a basic group
SUPERGROUP = -1004001
USER = 901
OTHER = 902


async def next_poll(tg: BotApiEmulator) -> None:
    """Waits until the bot asks Telegram for updates again (at least once a second)."""
    polls = len(tg.calls("getUpdates"))
    await tg.wait_for(lambda: len(tg.calls("getUpdates")) > polls)


async def until(tg: BotApiEmulator, check: Callable[[], Awaitable[bool]]) -> None:
    """Waits for state only the bot's database shows, one long poll of the bot at a time."""
    while not await check():
        await next_poll(tg)


def refused_at_most_once(calls: list[Call]) -> None:
    """Every call to a chat that is gone was refused (403), and none was tried again."""
    assert all(c.status == 403 for c in calls), [c.summary() for c in calls]
    tries = Counter((c.method, c.params.get("message_id")) for c in calls)
    assert all(n == 1 for n in tries.values()), tries


async def test_a_migrated_group_keeps_its_models_and_gets_its_result_in_flight(
    world: World,
) -> None:
    tg, arta = world.tg, world.arta
    tg.add_chat(GROUP, chat_type="group")
    async with world.bot(group_model_admins_only=False) as app:
        choice = tg.send_text(GROUP, "/model arta/watercolor", user_id=USER)
        await world.reply_to(GROUP, choice, lambda m: "watercolor" in (m.text or ""))
        arta.queue_polls = 10**6
        command = tg.send_text(GROUP, "/imagine a fox moving house", user_id=USER)
        await world.status_of(GROUP, command)
        await tg.wait_for(lambda: arta.job_list)
        tg.migrate_group(GROUP, SUPERGROUP)
        arta.queue_polls = arta.progress_polls = 0

        def delivered() -> list[object]:
            return [m for m in tg.bot_messages(SUPERGROUP) if m.kind == "photo"]

        [photo] = await tg.wait_for(delivered)
        assert photo.caption and "arta/watercolor" in photo.caption  # type: ignore[attr-defined]
        marker = tg.send_text(SUPERGROUP, "/model", user_id=USER)
        reply = await world.reply_to(SUPERGROUP, marker, lambda m: True)
        assert "Image model: arta/watercolor" in (reply.text or "")
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.chat_id == SUPERGROUP


async def test_a_send_refused_because_the_group_was_upgraded_follows_it(world: World) -> None:
    tg = world.tg
    tg.add_chat(GROUP, chat_type="group")
    tg.add_chat(SUPERGROUP, chat_type="supergroup")
    tg.fail_next(
        "sendPhoto",
        error_code=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=SUPERGROUP,
    )
    async with world.bot(group_model_admins_only=False) as app:
        choice = tg.send_text(GROUP, "/model arta/watercolor", user_id=USER)
        await world.reply_to(GROUP, choice, lambda m: "watercolor" in (m.text or ""))
        command = tg.send_text(GROUP, "/imagine a fox", user_id=USER)
        await tg.wait_for(lambda: [m for m in tg.bot_messages(SUPERGROUP) if m.kind == "photo"])
        prefs = await runtime(app).storage.get_prefs(SUPERGROUP)
        assert prefs.image_model == "arta/watercolor"
        assert command


async def test_cancel_before_the_status_reply_stops_the_job(world: World) -> None:
    tg = world.tg
    tg.hold("sendMessage")  # the status reply cannot go out yet
    async with world.bot() as app:
        command = tg.send_text(USER, "/imagine a fox I regret")
        await tg.wait_for(lambda: tg.held("sendMessage") == 1)
        cancel = tg.send_text(USER, "/cancel")
        await tg.wait_for(lambda: tg.held("sendMessage") == 2)
        tg.release("sendMessage")
        reply = await world.reply_to(USER, cancel, lambda m: True)
        assert reply.text == "Cancelling 1 job."
        await world.reply_to(USER, command, lambda m: m.text == "⏹ Stopped: cancelled by you.")
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.CANCELLED
        assert not world.arta.job_list
        assert not [m for m in tg.bot_messages(USER) if m.kind == "photo"]


async def test_one_members_flood_gets_one_refusal_and_others_are_served(world: World) -> None:
    tg, arta = world.tg, world.arta
    tg.add_chat(SUPERGROUP, chat_type="supergroup")
    tg.flood_limits = True
    arta.queue_polls = 10**6
    async with world.bot():
        flood = [tg.send_text(SUPERGROUP, f"/imagine fox {i}", user_id=11) for i in range(40)]
        await tg.wait_for(lambda: len(arta.job_list) == 2)
        other = tg.send_text(SUPERGROUP, "/imagine my own fox", user_id=12)
        await world.status_of(SUPERGROUP, other)
        arta.queue_polls = arta.progress_polls = 0
        await world.photos_for(SUPERGROUP, other, 1)
        refusals = [m for m in tg.bot_messages(SUPERGROUP) if "already have" in (m.text or "")]
        assert len(refusals) == 1
        assert len(arta.job_list) == 3
        assert tg.too_many_requests_sent == 0
        assert flood


async def test_a_migrated_group_keeps_its_settings_and_language(world: World) -> None:
    tg, arta, vision = world.tg, world.arta, world.dynaspark
    tg.add_chat(GROUP, chat_type="group")
    async with world.bot(group_model_admins_only=False) as app:
        for text in (
            "/model arta/watercolor",
            "/model gemini-2.0-flash",
            "/settings ar 16:9",
            "/settings n 2",
            "/settings no blurry",
            "/settings spoiler on",
            "/settings caption above",
            "/language ru",
        ):
            command = tg.send_text(GROUP, text, user_id=USER)
            await world.reply_to(GROUP, command, lambda m: True)
        tg.migrate_group(GROUP, SUPERGROUP)
        storage = runtime(app).storage

        async def moved() -> bool:
            return (await storage.get_prefs(SUPERGROUP)).image_model == "arta/watercolor"

        await until(tg, moved)
        imagine = tg.send_text(SUPERGROUP, "/imagine лиса", user_id=USER)
        status = await world.status_of(SUPERGROUP, imagine)
        photos = await world.photos_for(SUPERGROUP, imagine, 2)
        question = tg.send_text(SUPERGROUP, "/ask что такое лиса?", user_id=USER)
        await world.reply_to(SUPERGROUP, question, lambda m: m.text == vision.answer)
        menu = tg.send_text(SUPERGROUP, "/settings", user_id=USER)
        settings = await world.reply_to(SUPERGROUP, menu, lambda m: True)
    [job] = arta.job_list
    assert (job.form["aspect_ratio"], job.form["images_num"]) == ("16:9", "2")
    assert job.form["negative_prompt"] == "blurry"
    assert status.history[0].text == render.starting_text(translator("ru"), "arta/watercolor")
    assert all(p.has_spoiler for p in photos)
    [captioned] = [p for p in photos if p.caption]
    assert "arta/watercolor" in (captioned.caption or "") and captioned.show_caption_above_media
    assert [s.ai_model for s in vision.submissions] == ["gemini-2.0-flash"]
    assert (settings.text or "").startswith("⚙️ Настройки")
    assert tg.bot_messages(GROUP)[-1].reply_to != imagine["message_id"]  # nothing went back


@pytest.mark.parametrize(
    ("chat_id", "chat_type", "status"),
    [(GROUP, "group", "left"), (SUPERGROUP, "supergroup", "kicked")],
)
async def test_a_group_that_removed_the_bot_stops_its_running_and_queued_jobs(
    world: World, chat_id: int, chat_type: str, status: str
) -> None:
    tg, arta = world.tg, world.arta
    tg.add_chat(chat_id, chat_type=chat_type)
    arta.queue_polls = 10**6
    async with world.bot(max_concurrent_jobs=1) as app:
        running = tg.send_text(chat_id, "/imagine fox one", user_id=USER)
        queued = tg.send_text(chat_id, "/imagine fox two", user_id=OTHER)
        waiting = await world.status_of(chat_id, queued)
        await tg.wait_for(lambda: "#1 in line" in (waiting.text or "") and arta.job_list)
        await world.status_of(chat_id, running)
        removed_at = len(tg.calls())
        tg.set_member_status(chat_id, tg.bot_id, status, by=OTHER)
        jobs = runtime(app).jobs
        await tg.wait_for(lambda: not jobs.count(USER) and not jobs.count(OTHER))
        rows = [await runtime(app).storage.get_job(i) for i in (1, 2)]
        arta.queue_polls = arta.progress_polls = 0  # the upstream would finish now
        marker = tg.send_text(USER, "/help")  # a later update: the bot carried on meanwhile
        await world.reply_to(USER, marker, lambda m: True)
    assert [(r.status, r.error) for r in rows if r] == [(JobStatus.FAILED, CHAT_GONE)] * 2
    assert len(arta.job_list) == 1  # the queued job never reached the provider
    refused_at_most_once([c for c in tg.calls()[removed_at:] if c.chat_id == chat_id])


async def test_a_private_chat_that_blocked_the_bot_stops_its_running_and_queued_jobs(
    world: World,
) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot(max_concurrent_jobs=1, max_jobs_per_user=2) as app:
        running = tg.send_text(USER, "/imagine fox one")
        queued = tg.send_text(USER, "/imagine fox two")
        waiting = await world.status_of(USER, queued)
        await tg.wait_for(lambda: "#1 in line" in (waiting.text or "") and arta.job_list)
        await world.status_of(USER, running)
        blocked_at = len(tg.calls())
        tg.user_blocks_bot(USER)
        await tg.wait_for(lambda: not runtime(app).jobs.count(USER))
        rows = [await runtime(app).storage.get_job(i) for i in (1, 2)]
        arta.queue_polls = arta.progress_polls = 0
        marker = tg.send_text(OTHER, "/help")
        await world.reply_to(OTHER, marker, lambda m: True)
    assert [(r.status, r.error) for r in rows if r] == [(JobStatus.FAILED, CHAT_GONE)] * 2
    assert len(arta.job_list) == 1
    refused_at_most_once([c for c in tg.calls()[blocked_at:] if c.chat_id == USER])


async def test_a_removal_first_seen_as_a_refusal_stops_the_chats_jobs_without_retries(
    world: World,
) -> None:
    tg, arta = world.tg, world.arta
    tg.add_chat(SUPERGROUP, chat_type="supergroup")
    arta.queue_polls = 10**6
    async with world.bot(max_concurrent_jobs=1) as app:
        running = tg.send_text(SUPERGROUP, "/imagine fox one", user_id=USER)
        queued = tg.send_text(SUPERGROUP, "/imagine fox two", user_id=OTHER)
        waiting = await world.status_of(SUPERGROUP, queued)
        await tg.wait_for(lambda: "#1 in line" in (waiting.text or "") and arta.job_list)
        await world.status_of(SUPERGROUP, running)
        removed_at = len(tg.calls())
        tg.set_member_status(SUPERGROUP, tg.bot_id, "kicked", tell_bot=False)  # not told yet
        arta.queue_polls = arta.progress_polls = 0
        jobs = runtime(app).jobs
        await tg.wait_for(lambda: not jobs.count(USER) and not jobs.count(OTHER))
        rows = [await runtime(app).storage.get_job(i) for i in (1, 2)]
    assert [r.status for r in rows if r] == [JobStatus.FAILED] * 2
    assert rows[0] is not None and "kicked" in (rows[0].error or "")
    [upload] = tg.calls("sendPhoto")  # refused once, never tried again
    assert (
        upload.status == 403
        and upload.error == "Forbidden: bot was kicked from the supergroup chat"
    )
    assert len(arta.job_list) == 1
    refused_at_most_once([c for c in tg.calls()[removed_at:] if c.chat_id == SUPERGROUP])
