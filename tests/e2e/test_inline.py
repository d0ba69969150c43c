"""Inline mode end to end: "@bot a red fox" in any chat, the chosen result's status, the picture
put in the inline message, and every way it can end there."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest

from bot.jobs.inline import InlinePage
from bot.jobs.life import STOP_INLINE
from bot.pictures.prepare import prepare
from bot.storage.records import JobStatus
from tests.e2e.conftest import World, runtime
from tests.fakes.arta import png_bytes
from tests.fakes.telegram import InlineAnswer, StoredMessage

USER = 1301
GROUP = -1001300
PROMPT = "a red fox in the snow"


def inline_on(world: World, *, started: bool = True) -> None:
    """Inline mode and inline feedback on in @BotFather; the user has (not) started the bot."""
    world.tg.inline_mode = world.tg.inline_feedback = True
    world.tg.add_user(USER)
    world.tg.add_chat(GROUP, chat_type="supergroup")
    if started:
        world.tg.add_chat(USER)


async def ask(world: World, query: str, user_id: int = USER) -> tuple[str, InlineAnswer]:
    """The user types "@ImagineTestBot <query>"; the query id and the bot's answer."""
    query_id = world.tg.send_inline_query(user_id, query, chat_type="supergroup")
    answer = await world.tg.wait_for(lambda: world.tg.inline_answer(query_id))
    return query_id, answer


async def draw_in_group(world: World, query: str, user_id: int = USER) -> StoredMessage:
    """The user picks the drawing offered for ``query`` in the group; its inline message."""
    query_id, answer = await ask(world, query, user_id)
    assert [r["id"] for r in answer.results] == ["draw"], answer.results
    message = world.tg.choose_inline_result(query_id, "draw", chat_id=GROUP)
    assert message.inline_message_id is not None
    return message


def job_status(world: World, job_id: int) -> str | None:
    """A job's stored status, read beside the bot (in a wait_for, seen at the bot's next call)."""
    with sqlite3.connect(world.data_dir / "bot.sqlite3") as db:
        row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return row[0] if row else None


def texts(message: StoredMessage) -> list[str]:
    return [version.text or version.caption or "" for version in message.history]


async def downloaded(world: World, file_id: str) -> bytes:
    """The file's bytes as a bot gets them: getFile, then the file route."""
    async with world.tg.make_bot() as bot:
        file = await bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())


async def test_a_chosen_result_shows_a_status_then_becomes_the_picture(world: World) -> None:
    tg, arta = world.tg, world.arta
    inline_on(world)
    tg.flood_limits = True
    arta.queue_polls = arta.progress_polls = 10**6  # held until the test moves it on
    async with world.bot() as app:
        _, answer = await ask(world, "a red fox in the snow --ar 16:9")
        [article] = answer.results
        assert article["title"] == "🎨 a red fox in the snow"
        assert article["description"] == "arta/flux will draw it"
        assert answer.cache_time == 0 and answer.is_personal
        [[stop]] = article["reply_markup"]["inline_keyboard"]
        assert stop["callback_data"] == STOP_INLINE
        message = await draw_in_group(world, "a red fox in the snow --ar 16:9")
        assert message.via_bot is not None and message.via_bot["id"] == tg.bot_id
        await tg.wait_for(lambda: "waiting in line at arta/flux" in (message.text or ""))
        arta.queue_polls = 0
        await tg.wait_for(lambda: "drawing with arta/flux" in (message.text or ""))
        assert [b["callback_data"] for b in message.buttons] == [STOP_INLINE]
        arta.progress_polls = 0
        await tg.wait_for(lambda: message.photo_file_id)
        seed = world.arta.job_list[0].form["seed"]
        assert message.caption == f"a red fox in the snow\n\n🎨 arta/flux · seed {seed}"
        assert world.arta.job_list[0].form["aspect_ratio"] == "16:9"
        assert await downloaded(world, message.photo_file_id or "") == prepare(png_bytes(0), 0).data
        shown = texts(message)
        assert shown[0].startswith("🎨 a red fox in the snow\n⏳")
        assert all(text.startswith("🎨 a red fox in the snow\n") for text in shown[:-1])
        # The Stop button went with the status; one picture has no ◀ ▶, only ✏️.
        assert message.buttons == [
            {
                "text": "✏️ Prompt",
                "switch_inline_query_current_chat": f"/imagine {PROMPT} --seed {seed}",
            }
        ]
        await tg.wait_for(lambda: job_status(world, 1) == JobStatus.DONE)
        row = await runtime(app).storage.get_job(1)
        assert (
            row is not None
            and row.kind == "inline"
            and row.inline_message_id == message.inline_message_id
        )
    # The upload that gave the file_id was removed from the user's private chat at once.
    assert [m.deleted for m in tg.bot_messages(USER)] == [True]
    assert not [m for m in tg.bot_messages(GROUP)]  # the bot said nothing else in the group
    assert tg.too_many_requests_sent == 0


def page_data(job_id: int, index: int) -> str:
    return InlinePage(job_id, index).pack()


def arrows(message: StoredMessage) -> list[str]:
    """The callback data of the buttons under an inline message."""
    return [b["callback_data"] for b in message.buttons if "callback_data" in b]


async def turned(world: World, message: StoredMessage, data: str, user_id: int = USER) -> None:
    """Someone presses ◀ or ▶ (``data``) under the message; waits until the bot answered."""
    answers = len(world.tg.callback_answers)
    world.tg.press_inline_button(message.inline_message_id or "", data, user_id=user_id)
    await world.tg.wait_for(lambda: len(world.tg.callback_answers) > answers)


def caption_of(index: int, count: int = 3) -> str:
    return f"{index}/{count} · three foxes\n\n🎨 arta/flux · seed 77"


async def test_more_pictures_are_turned_with_the_arrows_even_after_a_restart(
    world: World,
) -> None:
    tg = world.tg
    inline_on(world)
    async with world.bot():
        message = await draw_in_group(world, "/imagine three foxes --seed 77 --n 3")
        await tg.wait_for(lambda: message.photo_file_id)
        assert world.arta.job_list[0].form["images_num"] == "3"
        assert message.caption == caption_of(1)
        assert arrows(message) == [page_data(1, 2), page_data(1, 1)]
        assert [b["text"] for b in message.buttons] == ["◀", "▶", "✏️ Prompt"]
        assert await downloaded(world, message.photo_file_id or "") == png_bytes(0)
        await tg.wait_for(lambda: job_status(world, 1) == JobStatus.DONE)
        files = [message.photo_file_id]

        await turned(world, message, page_data(1, 1))  # ▶
        await tg.wait_for(lambda: message.caption == caption_of(2))
        assert await downloaded(world, message.photo_file_id or "") == png_bytes(1)
        assert arrows(message) == [page_data(1, 0), page_data(1, 2)]
        files.append(message.photo_file_id)
        await turned(world, message, page_data(1, 0))  # ◀ back to the first
        await tg.wait_for(lambda: message.caption == caption_of(1))
        await turned(world, message, page_data(1, 2), user_id=1399)  # ◀ round, by someone else
        await tg.wait_for(lambda: message.caption == caption_of(3))
        assert await downloaded(world, message.photo_file_id or "") == png_bytes(2)
        assert arrows(message) == [page_data(1, 1), page_data(1, 0)]
        files.append(message.photo_file_id)
    assert len(set(files)) == 3
    async with world.bot():  # a new Application: the file_ids are in the job's result
        await turned(world, message, page_data(1, 0), user_id=1399)  # ▶ round to the first
        await tg.wait_for(lambda: message.caption == caption_of(1))
        assert message.photo_file_id == files[0]
    assert not [a for a in tg.callback_answers if a.show_alert or a.text]
    # Drawn once, uploaded once (one album, removed from the private chat at once).
    assert len(world.arta.job_list) == 1
    [upload] = tg.calls("sendMediaGroup")
    assert upload.params["chat_id"] == USER and tg.calls("sendPhoto") == []
    assert [m.deleted for m in tg.bot_messages(USER)] == [True, True, True]


async def test_pictures_uploaded_before_a_restart_are_shown_after_it(world: World) -> None:
    tg = world.tg
    inline_on(world)
    tg.hold("editMessageMedia")  # the pictures are uploaded, the message not yet turned
    async with world.bot():
        message = await draw_in_group(world, "/imagine three foxes --seed 77 --n 3")
        await tg.wait_for(lambda: tg.held("editMessageMedia"))
    tg.release("editMessageMedia", drop=True)
    async with world.bot():
        await tg.wait_for(lambda: message.caption == caption_of(1))
        await tg.wait_for(lambda: job_status(world, 1) == JobStatus.DONE)
        await turned(world, message, page_data(1, 1))
        await tg.wait_for(lambda: message.caption == caption_of(2))
    assert len(world.arta.job_list) == 1 and len(tg.calls("sendMediaGroup")) == 1


async def test_stale_or_forged_arrows_get_a_polite_alert(world: World) -> None:
    tg = world.tg
    inline_on(world)
    tg.add_user(1398, language_code="ru")
    async with world.bot():
        message = await draw_in_group(world, "/imagine three foxes --seed 77 --n 3")
        await tg.wait_for(lambda: message.photo_file_id)
        edits = len(tg.calls("editMessageMedia"))
        for data in ("inline:page:1:3", "inline:page:2:1", "inline:page:1:10", "inline:page:x"):
            tg.press_inline_button(
                message.inline_message_id or "", data, user_id=USER, strict=False
            )
        russian = tg.press_inline_button(
            message.inline_message_id or "", "inline:page:1:5", user_id=1398, strict=False
        )
        await tg.wait_for(lambda: len(tg.callback_answers) == 5)
        answers = {a.callback_query_id: a for a in tg.callback_answers}
        assert all(a.show_alert for a in answers.values())
        assert answers.pop(russian).text == "Извините, эти картинки больше нельзя здесь листать."
        assert {a.text for a in answers.values()} == {
            "Sorry, these pictures can no longer be turned here."
        }
    assert len(tg.calls("editMessageMedia")) == edits
    assert message.caption == caption_of(1)


async def test_arrows_pressed_in_a_hurry_stay_within_the_flood_budget(world: World) -> None:
    tg = world.tg
    inline_on(world)
    tg.flood_limits = True
    async with world.bot():
        message = await draw_in_group(world, "/imagine three foxes --seed 77 --n 3")
        await tg.wait_for(lambda: message.photo_file_id)
        # ▶ eleven times as fast as the user can, the message turning meanwhile: at most one
        # edit waits for the budget at a time, and the last press wins.
        presses = [page_data(1, i % 3) for i in range(1, 12)]
        for data in presses:
            tg.press_inline_button(
                message.inline_message_id or "", data, user_id=USER, strict=False
            )
        await tg.wait_for(lambda: len(tg.callback_answers) == len(presses))
        await tg.wait_for(lambda: message.caption == caption_of(3), timeout=30)
        turns = [c for c in tg.calls("editMessageMedia") if "reply_markup" in c.params][1:]
        assert 1 <= len(turns) < len(presses)
    assert tg.too_many_requests_sent == 0
    assert not [a for a in tg.callback_answers if a.show_alert]


async def test_a_channel_gets_the_arrows_without_edit(world: World) -> None:
    tg = world.tg
    inline_on(world)
    async with world.bot():
        query_id = tg.send_inline_query(USER, "two foxes --n 2 --seed 5", chat_type="channel")
        answer = await tg.wait_for(lambda: tg.inline_answer(query_id))
        [article] = answer.results
        assert article["id"] == "draw-plain"
        message = tg.choose_inline_result(query_id, "draw-plain", chat_id=GROUP)
        await tg.wait_for(lambda: message.photo_file_id)
        assert message.caption == "1/2 · two foxes\n\n🎨 arta/flux · seed 5"
        assert [b["text"] for b in message.buttons] == ["◀", "▶"]
        assert arrows(message) == [page_data(1, 1), page_data(1, 1)]


async def test_an_empty_query_explains_and_bad_flags_say_what_is_wrong(world: World) -> None:
    tg = world.tg
    inline_on(world)
    async with world.bot():
        _, empty = await ask(world, "")
        [usage] = empty.results
        assert usage["title"] == "Type what to draw"
        assert "@ImagineTestBot a red fox" in usage["input_message_content"]["message_text"]
        query_id, bad = await ask(world, "a fox --n 0")
        [problem] = bad.results
        assert problem["title"].startswith("⚠️ --n is the number of images, 1 to 10")
        assert problem["reply_markup"] is None
        posted = tg.choose_inline_result(query_id, problem["id"], chat_id=GROUP)
        assert posted.inline_message_id is None and (posted.text or "").startswith("⚠️ --n")
        _, unknown = await ask(world, "a fox --model nosuch")
        assert unknown.results[0]["title"].startswith("⚠️ Unknown model 'nosuch'")
        marker = tg.send_text(GROUP, "/help@ImagineTestBot", user_id=USER)  # the bot is idle
        await world.reply_to(GROUP, marker, lambda m: True)
    assert world.arta.job_list == []
    assert tg.calls("editMessageText") == []


async def test_a_russian_user_reads_russian(world: World) -> None:
    tg = world.tg
    inline_on(world)
    tg.add_user(USER, language_code="ru")
    world.arta.fail_next_job("FAILED")
    async with world.bot():
        _, answer = await ask(world, "лиса")
        assert answer.results[0]["description"] == "Нарисует arta/flux"
        _, empty = await ask(world, "")
        assert empty.results[0]["title"] == "Напишите, что нарисовать"
        message = await draw_in_group(world, "лиса")
        assert [b["text"] for b in message.buttons] == ["⏹ Остановить"]
        await tg.wait_for(lambda: "⚠️ ARTA" in (message.text or ""))
        assert "Попробуйте чуть позже" in (message.text or "")


async def test_at_the_cap_the_inline_message_says_so_every_time(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    inline_on(world)
    async with world.bot(max_jobs_per_user=1):
        first = await draw_in_group(world, "a patient fox")
        await tg.wait_for(lambda: "waiting in line at arta/flux" in (first.text or ""))
        refused = [await draw_in_group(world, f"an eager fox {i}") for i in (1, 2)]
        for message in refused:
            await tg.wait_for(lambda m=message: "already have 1 job running" in (m.text or ""))
            assert (message.text or "").startswith("🎨 an eager fox")
        arta.queue_polls = arta.progress_polls = 0
        await tg.wait_for(lambda: first.photo_file_id)
    assert len(arta.job_list) == 1


async def test_a_failing_provider_is_explained_in_the_inline_message(world: World) -> None:
    tg = world.tg
    inline_on(world)
    world.arta.fail_next_job("FAILED")
    async with world.bot() as app:
        message = await draw_in_group(world, "a doomed fox")
        await tg.wait_for(lambda: "⚠️ ARTA" in (message.text or ""))
        assert (message.text or "").startswith("🎨 a doomed fox\n⚠️ ARTA")
        assert message.buttons == []
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.FAILED


async def test_the_stop_button_stops_the_job_for_the_one_who_asked(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    inline_on(world)
    async with world.bot() as app:
        message = await draw_in_group(world, "a fox to stop")
        inline_id = message.inline_message_id or ""
        await tg.wait_for(lambda: "waiting in line" in (message.text or ""))
        assert [b["callback_data"] for b in message.buttons] == [STOP_INLINE]
        tg.press_inline_button(inline_id, STOP_INLINE, user_id=1399)  # someone else in the group
        answer = await tg.wait_for(lambda: tg.callback_answers)
        assert answer[0].show_alert and "Only the one who asked" in (answer[0].text or "")
        tg.press_inline_button(inline_id, STOP_INLINE, user_id=USER)
        await tg.wait_for(lambda: (message.text or "").endswith("⏹ Stopped: cancelled by you."))
        assert message.buttons == []
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.CANCELLED


async def test_cancel_in_the_private_chat_stops_inline_jobs_too(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    inline_on(world)
    async with world.bot():
        message = await draw_in_group(world, "a fox to cancel")
        await tg.wait_for(lambda: "waiting in line" in (message.text or ""))
        command = tg.send_text(USER, "/cancel")
        reply = await world.reply_to(USER, command, lambda m: True)
        assert reply.text == "Cancelling 1 job."
        await tg.wait_for(lambda: (message.text or "").endswith("⏹ Stopped: cancelled by you."))


async def test_a_private_bot_refuses_inline_queries_with_an_article(world: World) -> None:
    inline_on(world)
    async with world.bot(allowed_user_ids="7"):
        query_id, answer = await ask(world, "a fox")
        [refusal] = answer.results
        assert refusal["title"] == "Sorry, this bot is private. Ask its operator to let you in."
        assert refusal["reply_markup"] is None
        world.tg.choose_inline_result(query_id, refusal["id"], chat_id=GROUP)
        _, allowed = await ask(world, "a fox", user_id=7)
        assert allowed.results[0]["id"] == "draw"
    assert world.arta.job_list == []


async def test_a_user_who_never_started_the_bot_is_told_to(world: World) -> None:
    tg = world.tg
    inline_on(world, started=False)
    async with world.bot() as app:
        message = await draw_in_group(world, "a fox for a stranger")
        await tg.wait_for(lambda: "press Start" in (message.text or ""))
        assert (message.text or "").startswith("🎨 a fox for a stranger\n⚠️ I can put pictures")
        assert "@ImagineTestBot" in (message.text or "")
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.status == JobStatus.FAILED
    [refused] = tg.calls("sendPhoto")
    assert refused.status == 403


async def test_a_cache_chat_serves_users_who_never_started_the_bot(world: World) -> None:
    tg = world.tg
    cache = -1001999
    tg.add_chat(cache, chat_type="supergroup")
    inline_on(world, started=False)
    async with world.bot(inline_cache_chat_id=cache):
        message = await draw_in_group(world, "a cached fox")
        await tg.wait_for(lambda: message.photo_file_id)
    [kept] = tg.bot_messages(cache)
    assert kept.photo_file_id == message.photo_file_id and not kept.deleted


async def test_an_inline_job_cut_short_by_a_restart_is_finished_after_it(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    inline_on(world)
    async with world.bot():
        message = await draw_in_group(world, "a fox across a restart")
        await tg.wait_for(lambda: "waiting in line at arta/flux" in (message.text or ""))
    assert (message.text or "").endswith(
        "⏸ The bot is restarting; this job continues when it is back."
    )
    arta.queue_polls = 0
    async with world.bot() as app:
        await tg.wait_for(lambda: message.photo_file_id)
        [only] = arta.job_list  # followed again, never submitted twice
        assert message.caption and message.caption.endswith(f"seed {only.form['seed']}")
        await tg.wait_for(lambda: job_status(world, 1) == JobStatus.DONE)
        row = await runtime(app).storage.get_job(1)
        assert row is not None and row.attempts == 2
    assert any("picking up the picture where it was" in text for text in texts(message))


async def test_an_inline_job_cut_short_twice_says_so_in_its_message(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    inline_on(world)
    async with world.bot():
        message = await draw_in_group(world, "an unlucky fox")
        await tg.wait_for(lambda: "waiting in line" in (message.text or ""))
    async with world.bot():
        await tg.wait_for(lambda: "picking up the picture" in (message.text or ""))
    async with world.bot():
        await tg.wait_for(lambda: "⚠️ Interrupted" in (message.text or ""))
    assert (message.text or "").startswith("🎨 an unlucky fox\n⚠️ Interrupted")


async def test_a_mention_then_imagine_sent_as_text_is_an_imagine(world: World) -> None:
    tg = world.tg
    inline_on(world)
    async with world.bot():
        private = tg.send_text(USER, "@ImagineTestBot /imagine a fox in a den --seed 5")
        [photo] = await world.photos_for(USER, private, 1)
        assert photo.caption == "a fox in a den\n\n🎨 arta/flux · seed 5"
        group = tg.send_text(GROUP, "@ImagineTestBot /imagine a fox in a group", user_id=USER)
        [photo] = await world.photos_for(GROUP, group, 1)
        assert photo.caption and photo.caption.startswith("a fox in a group")
        other = tg.send_text(GROUP, "@OtherBot /imagine a fox elsewhere", user_id=USER)
        marker = tg.send_text(GROUP, "/help@ImagineTestBot", user_id=USER)
        await world.reply_to(GROUP, marker, lambda m: True)
        assert not [m for m in tg.bot_messages(GROUP) if m.reply_to == other["message_id"]]
    assert len(world.arta.job_list) == 2


async def test_choosing_in_the_private_chat_gets_no_hint(world: World) -> None:
    tg = world.tg
    inline_on(world)
    async with world.bot():
        query_id, _ = await ask(world, "a fox at home")
        message = tg.choose_inline_result(query_id, "draw", chat_id=USER)
        await tg.wait_for(lambda: message.photo_file_id)
    hints: list[Any] = [m for m in tg.bot_messages(USER) if m.text and not m.deleted]
    assert hints == []


async def test_the_log_says_whether_inline_mode_is_on(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.features.inline"):
        async with world.bot():
            pass
        world.tg.inline_mode = True
        async with world.bot():
            pass
    off, on = [m for m in caplog.messages if m.startswith("inline mode")]
    assert "inline mode is off" in off and "/setinline" in off
    assert "inline mode is on" in on and "/setinlinefeedback" in on
