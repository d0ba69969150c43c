"""The Bot API emulator's inline mode, driven by python-telegram-bot's own ``telegram.Bot``."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
import telegram
from PIL import Image
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputMediaPhoto,
    InputTextMessageContent,
)
from telegram.error import BadRequest, Forbidden

from tests.fakes.telegram import BotApiEmulator

USER = 42
GROUP = -1001234567890


def article(result_id: str = "a", *, keyboard: bool = True) -> InlineQueryResultArticle:
    markup = (
        InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop")]])
        if keyboard
        else None
    )
    return InlineQueryResultArticle(
        result_id, "A title", InputTextMessageContent("Drawing…"), reply_markup=markup
    )


def image() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
async def tg() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        emulator.inline_mode = True
        emulator.add_chat(GROUP)
        yield emulator


@pytest.fixture
async def bot(tg: BotApiEmulator) -> AsyncIterator[telegram.Bot]:
    async with tg.make_bot() as client:
        yield client


async def test_inline_mode_is_a_setting_of_the_bot(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    assert (await bot.get_me()).supports_inline_queries
    tg.inline_mode = False
    assert not (await bot.get_me()).supports_inline_queries
    with pytest.raises(ValueError, match="inline mode is off"):
        tg.send_inline_query(USER, "a fox")


async def test_a_query_arrives_and_its_answer_is_recorded(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    query_id = tg.send_inline_query(USER, "a fox", chat_type="supergroup")
    [update] = await bot.get_updates()
    assert update.inline_query is not None
    query = update.inline_query
    assert (query.id, query.query, query.chat_type, query.from_user.id) == (
        query_id,
        "a fox",
        "supergroup",
        USER,
    )
    button = InlineQueryResultsButton("How to", start_parameter="inline-help")
    assert await query.answer([article()], cache_time=0, is_personal=True, button=button)
    answer = tg.inline_answer(query_id)
    assert answer is not None and answer.result("a")["title"] == "A title"
    assert (answer.cache_time, answer.is_personal, answer.button) == (
        0,
        True,
        {"text": "How to", "start_parameter": "inline-help"},
    )
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer([article()])  # a query is answered once


@pytest.mark.parametrize(
    ("results", "error"),
    [
        ([article(str(i)) for i in range(51)], "too many inline query results"),
        ([article("x" * 65)], "RESULT_ID_INVALID"),
        ([article("same"), article("same")], "RESULT_ID_DUPLICATE"),
        ([article("a", keyboard=False).to_dict() | {"title": None}], 'field "title"'),
        (
            [article("a", keyboard=False).to_dict() | {"input_message_content": None}],
            'field "message_text"',
        ),
    ],
)
async def test_answers_are_checked_like_telegram(
    tg: BotApiEmulator, results: list[object], error: str
) -> None:
    query_id = tg.send_inline_query(USER, "fox")
    payload = {
        "inline_query_id": query_id,
        "results": [r.to_dict() if isinstance(r, InlineQueryResultArticle) else r for r in results],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{tg.url}/bot{tg.token}/answerInlineQuery", json=payload) as response,
    ):
        body = await response.json()
    assert response.status == 400 and not body["ok"]
    assert body["description"].startswith("Bad Request: ") and error in body["description"]
    assert tg.inline_answer(query_id) is None


async def test_a_results_button_is_checked(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    query_id = tg.send_inline_query(USER, "fox")
    with pytest.raises(BadRequest, match=r"(?i)unallowed characters in start_parameter"):
        await bot.answer_inline_query(
            query_id, [], button=InlineQueryResultsButton("Help", start_parameter="no spaces")
        )


async def test_a_chosen_result_is_editable_only_with_a_keyboard(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    tg.inline_feedback = True
    query_id = tg.send_inline_query(USER, "fox")
    await bot.answer_inline_query(query_id, [article("kb"), article("plain", keyboard=False)])
    plain = tg.choose_inline_result(query_id, "plain", chat_id=GROUP)
    message = tg.choose_inline_result(query_id, "kb", chat_id=GROUP)
    assert plain.inline_message_id is None and plain.text == "Drawing…"
    assert message.inline_message_id is not None and tg.messages(GROUP)[-1] is message
    updates = await bot.get_updates(offset=0)
    kinds = [(u.message is not None, u.chosen_inline_result is not None) for u in updates]
    assert kinds[-4:] == [(True, False), (False, True), (True, False), (False, True)]
    assert updates[-4].message is not None and updates[-4].message.via_bot is not None
    plain_chosen, chosen = updates[-3].chosen_inline_result, updates[-1].chosen_inline_result
    assert plain_chosen is not None and plain_chosen.inline_message_id is None
    assert chosen is not None and chosen.inline_message_id == message.inline_message_id
    assert chosen.result_id == "kb" and chosen.query == "fox"

    inline_id = message.inline_message_id
    assert await bot.edit_message_text("Half way", inline_message_id=inline_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Half way", inline_message_id=inline_id)
    upload = InputMediaPhoto(image(), caption="A fox")
    with pytest.raises(BadRequest, match=r"(?i)invalid message content specified"):
        await bot.edit_message_media(upload, inline_message_id=inline_id)
    sent = await bot.send_photo(GROUP, image())
    photo = InputMediaPhoto(sent.photo[-1].file_id, caption="A fox")
    assert await bot.edit_message_media(photo, inline_message_id=inline_id) is True
    assert (message.text, message.caption, message.photo) == (None, "A fox", image())
    assert [v.text or v.caption for v in message.history] == ["Drawing…", "Half way", "A fox"]
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_ID_INVALID"):
        await bot.edit_message_text("Lost", inline_message_id="AgAAAnonsense")


async def test_without_inline_feedback_no_chosen_result_arrives(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    query_id = tg.send_inline_query(USER, "fox")
    await bot.answer_inline_query(query_id, [article()])
    tg.choose_inline_result(query_id, "a", chat_id=GROUP)
    updates = await bot.get_updates(offset=0)
    assert not [u for u in updates if u.chosen_inline_result is not None]


async def test_a_button_under_an_inline_message_reports_its_id(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    query_id = tg.send_inline_query(USER, "fox")
    await bot.answer_inline_query(query_id, [article()])
    message = tg.choose_inline_result(query_id, "a", chat_id=GROUP)
    assert message.inline_message_id is not None
    tg.press_inline_button(message.inline_message_id, "stop", user_id=7)
    press = (await bot.get_updates(offset=0))[-1].callback_query
    assert press is not None and press.message is None
    assert (press.inline_message_id, press.data, press.from_user.id) == (
        message.inline_message_id,
        "stop",
        7,
    )
    assert await press.answer("Stopping")
    assert tg.callback_answers[-1].inline_message_id == message.inline_message_id


async def test_a_user_who_never_started_the_bot_cannot_be_written_to(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    tg.send_inline_query(USER, "fox")  # the bot knows the user now, but has no chat with them
    with pytest.raises(Forbidden, match=r"(?i)can.t initiate conversation"):
        await bot.send_message(USER, "hello")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "hello")  # nobody the bot knows


async def test_an_inline_message_turns_through_an_albums_file_ids(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    query_id = tg.send_inline_query(USER, "foxes")
    await bot.answer_inline_query(query_id, [article()])
    message = tg.choose_inline_result(query_id, "a", chat_id=GROUP)
    inline_id = message.inline_message_id
    assert inline_id is not None
    album = await bot.send_media_group(GROUP, [InputMediaPhoto(image()), InputMediaPhoto(image())])
    file_ids = [sent.photo[-1].file_id for sent in album]
    for index, file_id in enumerate(file_ids):
        arrow = InlineKeyboardMarkup([[InlineKeyboardButton("▶", callback_data=f"page:{index}")]])
        photo = InputMediaPhoto(file_id, caption=f"{index + 1}/2")
        assert await bot.edit_message_media(photo, inline_message_id=inline_id, reply_markup=arrow)
        assert (message.caption, message.photo_file_id) == (f"{index + 1}/2", file_id)
        assert message.buttons == [{"text": "▶", "callback_data": f"page:{index}"}]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_media(photo, inline_message_id=inline_id, reply_markup=arrow)
    tg.press_inline_button(inline_id, "page:1", user_id=7)
    press = (await bot.get_updates(offset=0))[-1].callback_query
    assert press is not None and (press.inline_message_id, press.data) == (inline_id, "page:1")
