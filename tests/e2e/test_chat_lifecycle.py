"""Telegram's chat lifecycle: groups that become supergroups, /cancel at any moment, and a
group member's flood that must not hold the others back."""

from __future__ import annotations

from bot.storage import JobStatus
from tests.e2e.conftest import World, runtime

GROUP = -4001  # a basic group
SUPERGROUP = -1004001
USER = 901


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
