"""A reply to every input (issue 22, item 3): media /ask cannot read, a full disk, invisible
prompts, over-long arguments, and updates the bot does not handle."""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import bot.storage.outbox
from bot.runtime import AnyApp
from tests.e2e.conftest import World, runtime
from tests.fakes.arta import png_bytes

USER = 2201
RU_USER = 2202
CHANNEL = -1002200


async def settled(world: World) -> None:
    """A /start answered after whatever came before: the bot has taken every earlier update."""
    command = world.tg.send_text(USER, "/start")
    await world.reply_to(USER, command, lambda m: True)
    await asyncio.sleep(0.1)


# Updates the bot does not handle


async def test_channel_posts_and_unknown_updates_are_ignored_quietly(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    tg = world.tg
    caplog.set_level(logging.DEBUG, logger="bot")
    user = {"id": USER, "is_bot": False, "first_name": "Ann"}
    chat = {"id": -1002201, "type": "supergroup", "title": "Group"}
    date = 1_800_000_000
    others = {
        "message_reaction": {
            "chat": chat,
            "message_id": 1,
            "user": user,
            "date": date,
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}],
        },
        "chat_boost": {
            "chat": chat,
            "boost": {
                "boost_id": "b1",
                "add_date": date,
                "expiration_date": date + 86400,
                "source": {"source": "premium", "user": user},
            },
        },
        "poll": {
            "id": "p1",
            "question": "/imagine?",
            "options": [
                {"persistent_id": "o1", "text": "a", "voter_count": 1},
                {"persistent_id": "o2", "text": "b", "voter_count": 0},
            ],
            "total_voter_count": 1,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        },
        "business_message": {
            "message_id": 7,
            "from": user,
            "chat": {"id": USER, "type": "private", "first_name": "Ann"},
            "date": date,
            "text": "/imagine a fox",
            "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
            "business_connection_id": "c1",
        },
    }
    async with world.bot(allowed_user_ids=str(USER)):  # a private bot: no refusal either
        await settled(world)  # the bot has asked for every kind of update
        posts = [
            tg.channel_post(CHANNEL, "/imagine a fox"),
            tg.channel_post(CHANNEL, "@ImagineTestBot /imagine a fox", via_bot=True),
            tg.channel_post(CHANNEL, "/imagine a fox", via_bot=True, edited=True),
            tg.channel_post(CHANNEL, "/model " + "x" * 50, edited=True),
        ]
        updates = [tg.push_update(kind, payload) for kind, payload in others.items()]
        await settled(world)
    assert tg.bot_messages(CHANNEL) == []
    assert not world.arta.jobs
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    ignored = [r.getMessage() for r in caplog.records if r.name == "bot.features.ignored"]
    assert len(ignored) == len(posts) + len(updates), "\n".join(ignored)
    assert any("channel_post" in line for line in ignored)
    assert any("message_reaction" in line for line in ignored)


# A full disk


DISK_FULL = {
    "en": "I cannot save your request right now; try again in a few minutes.",
    "ru": "Сейчас я не могу сохранить ваш запрос; попробуйте ещё раз через несколько минут.",
}


@contextmanager
def full_disk(app: AnyApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside the block every database commit fails with SQLITE_FULL (what SQLite says when
    the disk or PRAGMA max_page_count has no room) and every outbox file with ENOSPC."""
    db: Any = runtime(app).storage.backend._db  # the SQLite connection
    commit = db.commit

    async def full() -> None:
        error = sqlite3.OperationalError("database or disk is full")
        error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
        raise error

    def no_space(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    with monkeypatch.context() as patch:
        patch.setattr(db, "commit", full)
        patch.setattr(bot.storage.outbox, "_write", no_space)
        yield
    assert db.commit == commit


def full_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.storage.full" and r.levelno >= logging.ERROR
    ]


async def test_a_command_on_a_full_disk_is_told_and_the_bot_recovers(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = world.tg
    tg.add_user(RU_USER, language_code="ru")
    async with world.bot() as app:
        with full_disk(app, monkeypatch):
            for user, language in ((USER, "en"), (RU_USER, "ru")):
                for text in ("/imagine a fox", "/model arta/flux", "/settings n 2"):
                    command = tg.send_text(user, text)
                    await world.reply_to(
                        user, command, lambda m, t=DISK_FULL[language]: t in (m.text or "")
                    )
            assert not world.arta.jobs
        # space is back: the next command works, without a restart
        command = tg.send_text(USER, "/imagine a fox")
        await world.photos_for(USER, command, 1)
    [line] = full_lines(caplog)  # one line for the operator, naming the file
    assert str(world.data_dir / "bot.sqlite3") in line
    assert not [r for r in caplog.records if r.exc_info]
    assert any("can be written again" in r.getMessage() for r in caplog.records)


async def test_a_job_in_flight_on_a_full_disk_ends_with_a_message(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = world.tg
    tg.add_user(RU_USER, language_code="ru")
    world.arta.queue_polls = 40  # the jobs wait upstream while the disk fills
    async with world.bot() as app:
        commands = {
            USER: tg.send_text(USER, "/imagine a fox"),
            RU_USER: tg.send_text(RU_USER, "/imagine a fox"),
        }
        statuses = {user: await world.status_of(user, c) for user, c in commands.items()}
        with full_disk(app, monkeypatch):
            for user, language in ((USER, "en"), (RU_USER, "ru")):
                status = statuses[user]
                await tg.wait_for(lambda s=status, t=DISK_FULL[language]: t in (s.text or ""))
                assert (status.text or "").startswith("⚠️")
        command = tg.send_text(USER, "/imagine a cat")
        await world.photos_for(USER, command, 1)
    lines = full_lines(caplog)  # the database or the outbox (or both), each told once
    assert lines and len({line.split(" (")[0] for line in lines}) == len(lines), lines
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_full_outbox_ends_the_job_with_a_message(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = world.tg

    def no_space(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    async with world.bot():
        monkeypatch.setattr(bot.storage.outbox, "_write", no_space)
        first = tg.send_text(USER, "/imagine a fox")
        second = tg.send_text(USER, "/imagine a cat")
        for command in (first, second):
            status = await world.status_of(USER, command)
            await tg.wait_for(lambda s=status: DISK_FULL["en"] in (s.text or ""))
        monkeypatch.undo()
        third = tg.send_text(USER, "/imagine a dog")
        await world.photos_for(USER, third, 1)
    [line] = full_lines(caplog)
    assert str(world.data_dir / "outbox") in line
    assert not [r for r in caplog.records if r.exc_info]


# Media /ask and /describe cannot read

NOT_AN_IMAGE = {
    "en": {
        "animation": "I can read photos and image files; this is a GIF.",
        "video": "I can read photos and image files; this is a video.",
        "voice": "I can read photos and image files; this is a voice message.",
        "audio": "I can read photos and image files; this is an audio file.",
        "sticker": "I can read photos and image files; this is a sticker.",
        "video_note": "I can read photos and image files; this is a video message.",
        "pdf": "I can read photos and image files; this is a PDF.",
        "zip": "I can read photos and image files; this is a ZIP file.",
    },
    "ru": {
        "animation": "Я умею читать фотографии и файлы изображений, а это GIF-анимация.",
        "video": "Я умею читать фотографии и файлы изображений, а это видео.",
        "voice": "Я умею читать фотографии и файлы изображений, а это голосовое сообщение.",
        "audio": "Я умею читать фотографии и файлы изображений, а это аудиофайл.",
        "sticker": "Я умею читать фотографии и файлы изображений, а это стикер.",
        "video_note": "Я умею читать фотографии и файлы изображений, а это видеосообщение.",
        "pdf": "Я умею читать фотографии и файлы изображений, а это PDF-документ.",
        "zip": "Я умею читать фотографии и файлы изображений, а это файл ZIP.",
    },
}


def send_kind(world: World, user: int, kind: str, caption: str | None) -> dict[str, Any]:
    if kind == "pdf":
        return world.tg.send_document(
            user,
            b"%PDF-1.4 ...",
            file_name="paper.pdf",
            mime_type="application/pdf",
            caption=caption,
        )
    if kind == "zip":
        return world.tg.send_document(
            user,
            b"PK\x03\x04",
            file_name="photos.zip",
            mime_type="application/zip",
            caption=caption,
        )
    return world.tg.send_media(user, kind, caption=caption)


@pytest.mark.parametrize("command", ["/ask what is this?", "/describe"])
async def test_ask_and_describe_under_other_media_say_what_they_take(
    world: World, command: str
) -> None:
    tg = world.tg
    tg.add_user(RU_USER, language_code="ru")
    async with world.bot():
        for user, language in ((USER, "en"), (RU_USER, "ru")):
            for kind, expected in NOT_AN_IMAGE[language].items():
                captioned = kind not in ("sticker", "video_note")
                media = send_kind(world, user, kind, command if captioned else None)
                if captioned:  # the command as the media's caption
                    await world.reply_to(user, media, lambda m, t=expected: m.text == t)
                reply = tg.send_text(user, command, reply_to=media["message_id"])
                await world.reply_to(user, reply, lambda m, t=expected: m.text == t)
    assert not world.dynaspark.submissions
    assert not tg.calls("getFile")


async def test_an_image_sent_as_a_file_is_still_read(world: World) -> None:
    tg = world.tg
    async with world.bot():
        document = tg.send_document(
            USER, png_bytes(2), file_name="fox.png", mime_type="image/png", caption="/ask what?"
        )
        await world.reply_to(USER, document, lambda m: m.text == world.dynaspark.answer)
    assert len(world.dynaspark.submissions) == 1


# Prompts of invisible characters

INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c\u200d",  # zero-width non-joiner, joiner
    "\ufeff \u2060",  # byte order mark, word joiner
    "\ufe0f\ufe0e \u00a0\u3000",  # variation selectors, no-break and ideographic spaces
    "\u200b --ar 16:9",
]


@pytest.mark.parametrize("blank", INVISIBLE)
async def test_an_invisible_prompt_is_refused_like_an_empty_one(world: World, blank: str) -> None:
    tg = world.tg
    tg.add_user(RU_USER, language_code="ru")
    async with world.bot():
        for user, told in ((USER, "Tell me what to draw."), (RU_USER, "Напишите, что нарисовать.")):
            command = tg.send_text(user, f"/imagine {blank}")
            await world.reply_to(user, command, lambda m, t=told: (m.text or "").startswith(t))
            if "--" not in blank:  # "--ar 16:9" is a question /ask can answer
                question = tg.send_text(user, f"/ask {blank}")
                await world.reply_to(user, question, lambda m: "/ask" in (m.text or ""))
    assert not world.arta.jobs
    assert not world.dynaspark.submissions


async def test_an_invisible_inline_query_draws_nothing(world: World) -> None:
    tg = world.tg
    tg.inline_mode = tg.inline_feedback = True
    tg.add_chat(USER)
    async with world.bot():
        query_id = tg.send_inline_query(USER, "\u200b\u200d\ufe0f", chat_type="sender")
        answer = await tg.wait_for(lambda: tg.inline_answer(query_id))
    [result] = answer.results
    assert result["id"] == "problem", result  # says what is wrong; choosing it starts nothing
    assert "what to draw" in result["title"]
    assert not world.arta.jobs


async def test_an_emoji_prompt_with_joiners_is_drawn(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/imagine 👩\u200d🚀")
        await world.photos_for(USER, command, 1)


# Over-long and unexpected arguments

LONG = "x" * 4000


@pytest.mark.parametrize(
    ("text", "english", "russian"),
    [
        (
            f"/model {LONG}",
            "The text after /model is too long: at most 100 characters, and you sent 4000: “xxxx",
            "Текст после /model слишком длинный: можно не больше 100 символов, а вы прислали 4000",
        ),
        (
            f"/settings {LONG}",
            "The text after /settings is too long: at most 320 characters",
            "Текст после /settings слишком длинный",
        ),
        (
            f"/language {LONG}",
            "The text after /language is too long: at most 100 characters",
            "Текст после /language слишком длинный",
        ),
        (
            f"/imagine {LONG}",
            "The prompt is too long: at most 2000 characters, and you sent 4000: “xxxx",
            "Описание слишком длинное: можно не больше 2000 символов, а вы прислали 4000",
        ),
        (
            f"/imagine a fox --model {'m' * 300}",
            "The text after /imagine --model is too long: at most 100 characters, and you sent 300",
            "Текст после /imagine --model слишком длинный",
        ),
        (
            "/cancel all of them now please",
            "/cancel takes nothing after it (you sent “all of them now please”). Send /cancel "
            "alone.",
            "После /cancel ничего не пишут (вы прислали «all of them now please»)",
        ),
        (
            f"/providers {LONG}",
            f"/providers takes nothing after it (you sent “{'x' * 39}…”).",
            "После /providers ничего не пишут",
        ),
    ],
)
async def test_a_bad_argument_gets_a_clear_refusal(
    world: World, caplog: pytest.LogCaptureFixture, text: str, english: str, russian: str
) -> None:
    tg = world.tg
    tg.add_user(RU_USER, language_code="ru")
    async with world.bot():
        for user, expected in ((USER, english), (RU_USER, russian)):
            command = tg.send_text(user, text)
            reply = await world.reply_to(user, command, lambda m: True)
            assert (reply.text or "").startswith(expected), reply.text
            assert len(reply.text or "") < 300
    assert not world.arta.jobs
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
