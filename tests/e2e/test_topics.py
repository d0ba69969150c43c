"""Forum topics: everything a command causes lands in that command's topic, never in General
or in another topic, even when the command is gone by the time the answer is ready."""

from __future__ import annotations

from typing import Any

from bot.storage.database import Storage
from bot.storage.records import JobStatus
from tests.e2e.conftest import World, runtime
from tests.fakes.arta import png_bytes
from tests.fakes.telegram import BotApiEmulator, StoredMessage

FORUM = -1007001
USER, OTHER = 1201, 1202


def open_forum(tg: BotApiEmulator) -> tuple[int, int]:
    """A forum with two topics; returns their thread ids."""
    tg.add_chat(FORUM, is_forum=True)
    return tg.add_topic(FORUM, "Foxes"), tg.add_topic(FORUM, "Owls")


def assert_in_their_topics(tg: BotApiEmulator, *commands: dict[str, Any]) -> None:
    """Nothing the bot sent is in General, everything replying to one of ``commands`` is in
    that command's topic, and every chat action was shown in a topic."""
    assert tg.bot_messages(FORUM, topic=None) == []
    topic_of = {c["message_id"]: c["message_thread_id"] for c in commands}
    for message in tg.bot_messages(FORUM):
        if message.reply_to in topic_of:
            assert message.topic == topic_of[message.reply_to], message
    assert None not in tg.chat_action_topics


async def answer(world: World, command: dict[str, Any]) -> StoredMessage:
    return await world.reply_to(FORUM, command, lambda m: True)


async def test_imagine_in_two_topics_at_once_answers_each_in_its_own(world: World) -> None:
    tg, arta = world.tg, world.arta
    foxes, owls = open_forum(tg)
    arta.queue_polls = 10**6
    async with world.bot():
        fox = tg.send_text(FORUM, "/imagine a fox", user_id=USER, thread_id=foxes)
        owl = tg.send_text(FORUM, "/imagine two owls --n 2", user_id=OTHER, thread_id=owls)
        statuses = [await world.status_of(FORUM, c) for c in (fox, owl)]
        await tg.wait_for(lambda: all("waiting in line" in (s.text or "") for s in statuses))
        arta.queue_polls = arta.progress_polls = 0
        [photo] = await world.photos_for(FORUM, fox, 1)
        album = await world.photos_for(FORUM, owl, 2)
        await tg.wait_for(lambda: all(s.deleted for s in statuses))
    assert [s.topic for s in statuses] == [foxes, owls]
    assert all(s.edits for s in statuses)  # the status edits stay where the status is
    assert photo.topic == foxes and photo.kind == "photo"
    assert {p.topic for p in album} == {owls} and album[0].media_group_id
    # Chat actions go only where budget is spare (they yield to statuses and results); which
    # topic each lands in is tests/bot/telegram/test_chat_action.py's.
    assert set(tg.chat_action_topics) <= {foxes, owls}
    assert_in_their_topics(tg, fox, owl)


async def test_a_settings_note_and_previews_land_in_the_topic(world: World) -> None:
    tg, sd35 = world.tg, world.sd35
    foxes, owls = open_forum(tg)
    sd35.previews = 2
    async with world.bot(group_model_admins_only=False):
        setting = tg.send_text(FORUM, "/settings n 2", user_id=USER, thread_id=owls)
        saved = await answer(world, setting)
        command = tg.send_text(
            FORUM, "/imagine a fox --model sd-3.5", user_id=USER, thread_id=foxes
        )
        note = await world.reply_to(FORUM, command, lambda m: (m.text or "").startswith("ℹ️"))
        preview = await world.reply_to(FORUM, command, lambda m: m.caption == "👀 Preview")
        [photo] = await world.photos_for(FORUM, command, 1)
        await tg.wait_for(lambda: preview.deleted)
    assert saved.topic == owls and (saved.text or "").startswith("Saved.")
    assert "at most 1 image" in (note.text or "")
    assert note.topic == preview.topic == photo.topic == foxes
    assert_in_their_topics(tg, setting, command)


async def test_ask_answers_in_the_topic(world: World) -> None:
    tg = world.tg
    foxes, owls = open_forum(tg)
    async with world.bot():
        by_photo = tg.send_photo(
            FORUM, png_bytes(1), caption="/ask what is this?", user_id=USER, thread_id=foxes
        )
        by_text = tg.send_text(FORUM, "/ask what is an owl?", user_id=OTHER, thread_id=owls)
        for command in (by_photo, by_text):
            await world.reply_to(FORUM, command, lambda m: m.text == world.dynaspark.answer)
        statuses = [await world.status_of(FORUM, c) for c in (by_photo, by_text)]
        await tg.wait_for(lambda: all(s.deleted for s in statuses))
    assert [s.topic for s in statuses] == [foxes, owls]
    [photo_question] = [s for s in world.dynaspark.submissions if s.user_input == "what is this?"]
    assert photo_question.file is not None  # the photo in the topic was seen
    assert set(tg.chat_action_topics) <= {foxes, owls}  # where budget is spare for them
    assert_in_their_topics(tg, by_photo, by_text)


async def test_menus_answers_and_refusals_stay_in_the_topic(world: World) -> None:
    tg, arta = world.tg, world.arta
    foxes, owls = open_forum(tg)
    arta.queue_polls = 10**6
    async with world.bot(group_model_admins_only=False, max_jobs_per_user=1):
        commands = {
            text: tg.send_text(FORUM, text, user_id=USER, thread_id=foxes)
            for text in (
                "/model",
                "/model arta/watercolor",
                "/model gemini-2.0-flash",
                "/settings",
                "/language",
                "/language en",
                "/providers",
                "/help",
                "/imagine a fox --ar 7:3",
            )
        }
        replies = {text: await answer(world, command) for text, command in commands.items()}
        assert "Image model: arta/flux" in (replies["/model"].text or "")
        assert (
            replies["/model arta/watercolor"].text == "Image model for this chat: arta/watercolor"
        )
        assert "Settings of this chat" in (replies["/settings"].text or "")
        assert "/imagine" in (replies["/help"].text or "")
        assert "aspect ratios" in (replies["/imagine a fox --ar 7:3"].text or "")
        running = tg.send_text(FORUM, "/imagine a fox", user_id=USER, thread_id=owls)
        status = await world.status_of(FORUM, running)
        over = tg.send_text(FORUM, "/imagine another fox", user_id=USER, thread_id=foxes)
        refusal = await answer(world, over)
        assert "already have 1 job" in (refusal.text or "")
        settings = replies["/settings"]
        tg.press_button(FORUM, settings.message_id, "set:lang", user_id=USER)
        languages = await tg.wait_for_bot_message(
            FORUM, lambda m: m.reply_to == settings.message_id
        )
        cancel = tg.send_text(FORUM, "/cancel", user_id=USER, thread_id=foxes)
        cancelled = await answer(world, cancel)
        await tg.wait_for(lambda: status.text == "⏹ Stopped: cancelled by you.")
    assert cancelled.text == "Cancelling 1 job."
    assert languages.topic == foxes and "Language" in (languages.text or "")
    assert all(reply.topic == foxes for reply in replies.values())
    assert refusal.topic == foxes and status.topic == owls
    assert_in_their_topics(tg, *commands.values(), running, over, cancel)


async def test_answers_find_the_topic_of_a_command_deleted_meanwhile(world: World) -> None:
    tg, sd35 = world.tg, world.sd35
    foxes, owls = open_forum(tg)
    sd35.previews = 1
    async with world.bot():
        tg.hold("sendMessage")  # replies wait until their command is gone
        help_command = tg.send_text(FORUM, "/help", user_id=USER, thread_id=owls)
        refused = tg.send_text(FORUM, "/imagine a fox --n 9", user_id=USER, thread_id=owls)
        imagine = tg.send_text(
            FORUM, "/imagine a fox --model sd-3.5", user_id=USER, thread_id=foxes
        )
        await tg.wait_for(lambda: tg.held("sendMessage") == 3)
        tg.hold("sendPhoto")  # and so does the preview
        for command in (help_command, refused, imagine):
            tg.user_deletes(FORUM, command["message_id"])
        tg.release("sendMessage")
        await tg.wait_for(lambda: tg.held("sendPhoto") == 1)
        tg.release("sendPhoto")
        tg.hold("getFile")  # the answer is on its way when the question goes
        asked = tg.send_photo(FORUM, png_bytes(2), caption="/ask and this?", thread_id=foxes)
        await tg.wait_for(lambda: tg.held("getFile") == 1)
        tg.user_deletes(FORUM, asked["message_id"])
        tg.release("getFile")

        def placed() -> list[StoredMessage]:
            sent = tg.bot_messages(FORUM, include_deleted=False)
            done = any(m.kind == "photo" and m.caption != "👀 Preview" for m in sent)
            return sent if done and any(m.text == world.dynaspark.answer for m in sent) else []

        await tg.wait_for(placed)
    general = [m for m in tg.bot_messages(FORUM) if m.topic is None]
    assert general == []
    by_topic = {
        topic: [m.text or m.caption for m in tg.bot_messages(FORUM, topic=topic)]
        for topic in (foxes, owls)
    }
    assert any("/imagine" in (t or "") for t in by_topic[owls])  # the help
    assert any("1 to 4 images" in (t or "") for t in by_topic[owls])  # the refusal
    assert "👀 Preview" in by_topic[foxes] and world.dynaspark.answer in by_topic[foxes]
    assert None not in tg.chat_action_topics


async def test_restarts_keep_jobs_in_their_topic(world: World) -> None:
    tg, arta = world.tg, world.arta
    foxes, owls = open_forum(tg)
    arta.queue_polls = 10**6
    async with world.bot():
        command = tg.send_text(FORUM, "/imagine a fox across a restart", thread_id=owls)
        status = await world.status_of(FORUM, command)
        await tg.wait_for(lambda: "waiting in line" in (status.text or ""))
    assert (status.text or "").startswith("⏸ The bot is restarting")
    arta.queue_polls = 0
    async with world.bot():
        [photo] = await world.photos_for(FORUM, command, 1)
        await tg.wait_for(lambda: status.deleted)
    assert status.topic == photo.topic == owls
    assert_in_their_topics(tg, command)

    storage = await Storage.open(world.data_dir / "bot.sqlite3")
    await storage.create_job(  # a job whose command is gone and which cannot run again
        kind="imagine",
        chat_id=FORUM,
        user_id=USER,
        command_message_id=999,
        prompt="a fox",
        model="arta/nonexistent",
        thread_id=foxes,
    )
    await storage.close()
    async with world.bot() as app:
        note = await tg.wait_for_bot_message(FORUM, lambda m: "Interrupted" in (m.text or ""))
        row = await runtime(app).storage.get_job(2)
        assert row is not None and row.status == JobStatus.FAILED
    assert note.topic == foxes and note.reply_to is None
    assert tg.bot_messages(FORUM, topic=None) == []


def world_jobs_running(world: World) -> bool:
    """Whether a status message is still up (a job has not ended yet)."""
    return any(
        m.kind == "text" and not m.deleted and not m.buttons for m in world.tg.bot_messages(FORUM)
    )


async def test_result_buttons_answer_in_the_pictures_topic(world: World) -> None:
    tg = world.tg
    foxes, owls = open_forum(tg)
    async with world.bot():
        command = tg.send_text(FORUM, "/imagine a fox", user_id=USER, thread_id=foxes)
        [photo] = await world.photos_for(FORUM, command, 1)
        deleted = tg.send_text(FORUM, "/imagine owls --n 2", user_id=USER, thread_id=owls)
        album = await world.photos_for(FORUM, deleted, 2)
        keyboard = await tg.wait_for_bot_message(
            FORUM, lambda m: m.kind == "text" and bool(m.buttons) and m.topic == owls
        )
        await tg.wait_for(lambda: not world_jobs_running(world))
        tg.press_button(FORUM, photo.message_id, "r:1:a", user_id=USER)
        again = await world.reply_to(FORUM, {"message_id": photo.message_id}, lambda m: True)
        [redrawn] = await world.photos_for(FORUM, {"message_id": again.message_id}, 1)
        tg.press_button(FORUM, keyboard.message_id, "r:2:d:1", user_id=USER)
        described = await world.reply_to(
            FORUM, {"message_id": album[1].message_id}, lambda m: bool(m.buttons)
        )
    assert again.topic == redrawn.topic == foxes
    assert described.topic == owls
    assert tg.bot_messages(FORUM, topic=None) == []
