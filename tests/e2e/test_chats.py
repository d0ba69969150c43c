"""Groups, several users, /cancel, per-user caps, access control, menus, restarts."""

from __future__ import annotations

from bot.storage.records import JobStatus
from tests.e2e.conftest import World, runtime
from tests.fakes.arta import png_bytes

USER = 801
GROUP = -1005550


async def test_group_commands_for_this_bot_only_and_answers_thread(world: World) -> None:
    tg = world.tg
    tg.add_chat(GROUP, chat_type="supergroup")
    async with world.bot():
        other = tg.send_text(GROUP, "/imagine@OtherBot a fox", user_id=21)
        other_ask = tg.send_photo(GROUP, png_bytes(0), caption="/ask@OtherBot what?", user_id=21)
        mine = tg.send_text(GROUP, "/imagine@ImagineTestBot a fox", user_id=22)
        [photo] = await world.photos_for(GROUP, mine, 1)
        assert photo.reply_to == mine["message_id"]
        marker = tg.send_text(GROUP, "/help@ImagineTestBot", user_id=21)
        await world.reply_to(GROUP, marker, lambda m: True)
        replied_to = {m.reply_to for m in tg.bot_messages(GROUP)}
        assert other["message_id"] not in replied_to and other_ask["message_id"] not in replied_to
        assert len(world.arta.job_list) == 1 and world.dynaspark.submissions == []


async def test_several_users_jobs_run_at_once_in_a_group(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    tg.add_chat(GROUP, chat_type="supergroup")
    async with world.bot():
        commands = [tg.send_text(GROUP, f"/imagine fox {u}", user_id=u) for u in (31, 32, 33)]
        await tg.wait_for(lambda: len(arta.job_list) == 3)  # all three are upstream together
        arta.queue_polls = arta.progress_polls = 0
        for command in commands:
            await world.photos_for(GROUP, command, 1)


async def test_cancel_stops_only_the_callers_jobs(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    tg.add_chat(GROUP, chat_type="supergroup")
    async with world.bot() as app:
        mine = tg.send_text(GROUP, "/imagine my fox", user_id=41)
        theirs = tg.send_text(GROUP, "/imagine their fox", user_id=42)
        my_status = await world.status_of(GROUP, mine)
        await tg.wait_for(lambda: len(arta.job_list) == 2)
        cancel = tg.send_text(GROUP, "/cancel", user_id=41)
        reply = await world.reply_to(GROUP, cancel, lambda m: True)
        assert reply.text == "Cancelling 1 job."
        await tg.wait_for(lambda: my_status.text == "⏹ Stopped: cancelled by you.")
        arta.queue_polls = arta.progress_polls = 0
        await world.photos_for(GROUP, theirs, 1)
        job = await runtime(app).storage.get_job(1)
        assert job is not None and job.status == JobStatus.CANCELLED
        assert not [
            m for m in tg.bot_messages(GROUP) if m.reply_to == mine["message_id"] and m.photo
        ]
        nothing = tg.send_text(GROUP, "/cancel", user_id=41)
        reply = await world.reply_to(GROUP, nothing, lambda m: True)
        assert reply.text == "You have nothing running in this chat."


async def test_a_user_may_run_two_jobs_at_a_time(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot():
        first, second = (tg.send_text(USER, f"/imagine fox {i}") for i in (1, 2))
        await tg.wait_for(lambda: len(arta.job_list) == 2)
        third = tg.send_text(USER, "/imagine fox 3")
        reply = await world.reply_to(USER, third, lambda m: "already have 2 jobs" in (m.text or ""))
        assert "/cancel" in (reply.text or "")
        arta.queue_polls = arta.progress_polls = 0
        for command in (first, second):
            await world.photos_for(USER, command, 1)
        assert len(arta.job_list) == 2


async def test_the_bots_own_queue_shows_positions(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot(max_concurrent_jobs=1):
        first = tg.send_text(USER, "/imagine fox 1")
        await tg.wait_for(lambda: len(arta.job_list) == 1)
        second = tg.send_text(7002, "/imagine fox 2")
        status = await world.status_of(7002, second)
        await tg.wait_for(lambda: "you are #1 in line" in (status.text or ""))
        assert len(arta.job_list) == 1
        arta.queue_polls = arta.progress_polls = 0
        await world.photos_for(USER, first, 1)
        await world.photos_for(7002, second, 1)


async def test_outsiders_are_refused_politely(world: World) -> None:
    tg = world.tg
    async with world.bot(allowed_user_ids="901"):
        refused = tg.send_text(902, "/imagine a fox")
        reply = await world.reply_to(902, refused, lambda m: True)
        assert "private" in (reply.text or "")
        allowed = tg.send_text(901, "/imagine a fox")
        await world.photos_for(901, allowed, 1)
        assert len(world.arta.job_list) == 1


async def test_menu_in_english_and_russian(world: World) -> None:
    async with world.bot():
        english = dict(world.tg.my_commands())
        russian = dict(world.tg.my_commands(language_code="ru"))
    assert (
        set(english)
        == set(russian)
        == {
            "imagine",
            "edit",
            "model",
            "settings",
            "ask",
            "describe",
            "cancel",
            "providers",
            "language",
            "help",
        }
    )
    assert russian["imagine"].startswith("Нарисовать")


async def test_the_menu_offers_balance_and_buy_only_where_credits_are_counted(
    world: World,
) -> None:
    async with world.bot(free_credits=5):
        english = dict(world.tg.my_commands())
        help_command = world.tg.send_text(601, "/help")
        help_reply = await world.reply_to(601, help_command, lambda m: m.kind == "text")
    assert {"balance", "buy"} <= set(english)
    assert help_reply.text is not None and "/balance" in help_reply.text
    async with world.bot():
        help_command = world.tg.send_text(601, "/help")
        free = await world.reply_to(601, help_command, lambda m: m.kind == "text")
    assert free.text is not None and "/balance" not in free.text


async def test_private_chat_messages_that_are_not_commands_get_a_pointer(world: World) -> None:
    tg = world.tg
    async with world.bot():
        cases = [
            (tg.send_text(USER, "draw me a cat"), "/imagine <prompt>"),
            (tg.send_text(USER, "/frobnicate"), "don't know that command"),
            (tg.send_photo(USER, png_bytes(0)), "What shall I do with this picture?"),
        ]
        for message, expected in cases:
            reply = await world.reply_to(USER, message, lambda m: True)
            assert expected in (reply.text or "")
        in_group = tg.send_text(GROUP, "just chatting", user_id=5, chat_type="supergroup")
        marker = tg.send_text(GROUP, "/help", user_id=5)
        await world.reply_to(GROUP, marker, lambda m: True)
        assert not [m for m in tg.bot_messages(GROUP) if m.reply_to == in_group["message_id"]]
