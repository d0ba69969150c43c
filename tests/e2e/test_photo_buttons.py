"""A photo without /ask in a private chat: buttons, the "What would you like to know?" prompt,
and questions asked by replying (to the prompt, to the buttons, or to one's own photo)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.features.private_chats.photo_buttons import STALE
from tests.e2e.conftest import World
from tests.fakes.arta import png_bytes
from tests.fakes.telegram import StoredMessage

USER = 7301
PROMPT = "What would you like to know about this picture?"


async def buttons_for(world: World, photo: dict[str, Any]) -> StoredMessage:
    """The bot's reply to ``photo`` that carries the photo buttons."""
    return await world.reply_to(USER, photo, lambda m: bool(m.buttons))


async def prompt_for(world: World, photo: dict[str, Any]) -> StoredMessage:
    """The bot's "What would you like to know?" prompt under ``photo``."""
    return await world.reply_to(USER, photo, lambda m: "force_reply" in (m.reply_markup or {}))


async def test_a_photo_gets_buttons_and_the_prompts_answer_is_asked_about_it(
    world: World,
) -> None:
    tg, vision = world.tg, world.dynaspark
    async with world.bot():
        photo = tg.send_photo(USER, png_bytes(2))
        offer = await buttons_for(world, photo)
        button, describe = offer.buttons
        assert [button["text"], describe["text"]] == ["❓ Ask about it", "🔎 Describe"]
        assert all(len(b["callback_data"].encode()) <= 64 for b in offer.buttons)

        tg.press_button(USER, offer.message_id, button["callback_data"])
        prompt = await prompt_for(world, photo)
        assert prompt.text == PROMPT
        assert prompt.reply_markup == {
            "force_reply": True,
            "input_field_placeholder": "Your question about the picture",
        }
        [answered] = tg.callback_answers
        assert not answered.show_alert

        question = tg.send_text(USER, "what colour is it?", reply_to=prompt.message_id)
        await world.reply_to(USER, question, lambda m: m.text == vision.answer)
    [submission] = vision.submissions
    assert submission.user_input == "what colour is it?"
    assert submission.file is not None and submission.file.value == png_bytes(2)


async def test_the_buttons_and_the_prompt_work_after_a_restart(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    async with world.bot():
        photo = tg.send_photo(USER, png_bytes(4))
        offer = await buttons_for(world, photo)
    async with world.bot():  # a new Application on the same database
        tg.press_button(USER, offer.message_id, offer.buttons[0]["callback_data"])
        prompt = await prompt_for(world, photo)
    async with world.bot():
        question = tg.send_text(USER, "is it square?", reply_to=prompt.message_id)
        await world.reply_to(USER, question, lambda m: m.text == vision.answer)
    [submission] = vision.submissions
    assert submission.user_input == "is it square?"
    assert submission.file is not None and submission.file.value == png_bytes(4)


async def test_a_forged_or_stale_press_gets_an_alert_and_changes_nothing(world: World) -> None:
    tg = world.tg
    async with world.bot():
        photo = tg.send_photo(USER, png_bytes(1))
        offer = await buttons_for(world, photo)
        real = offer.buttons[0]["callback_data"]
        forged = [
            "photo:ask:999999",  # another photo than the one the buttons are under
            "photo:paint:" + str(photo["message_id"]),  # an action nobody offers
            "photo:ask:-1",
            "photo:ask",
        ]
        for data in forged:
            tg.press_button(USER, offer.message_id, data, strict=False)
        await tg.wait_for(lambda: len(tg.callback_answers) == len(forged))
        tg.user_deletes(USER, photo["message_id"])  # the photo the real button is about
        tg.press_button(USER, offer.message_id, real)
        await tg.wait_for(lambda: len(tg.callback_answers) == len(forged) + 1)
    assert all(a.show_alert and a.text == STALE for a in tg.callback_answers)
    assert [m.message_id for m in tg.bot_messages(USER)] == [offer.message_id]
    assert world.dynaspark.submissions == []


async def test_a_reply_to_the_buttons_or_to_ones_own_photo_is_a_question(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    async with world.bot():
        photo = tg.send_photo(USER, png_bytes(5))
        offer = await buttons_for(world, photo)
        first = tg.send_text(USER, "what is this?", reply_to=offer.message_id)
        await world.reply_to(USER, first, lambda m: m.text == vision.answer)
        second = tg.send_text(USER, "and its size?", reply_to=photo["message_id"])
        await world.reply_to(USER, second, lambda m: m.text == vision.answer)
        mine = await world.reply_to(USER, first, lambda m: m.text == vision.answer)
        other = tg.send_text(USER, "thanks!", reply_to=mine.message_id)  # not about a photo
        hint = await world.reply_to(USER, other, lambda m: True)
    assert "/imagine" in (hint.text or "")
    assert [(s.user_input, s.file.value if s.file else None) for s in vision.submissions] == [
        ("what is this?", png_bytes(5)),
        ("and its size?", png_bytes(5)),
    ]


async def test_an_expired_prompt_says_so(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.features.private_chats.prompts.KEEP_FOR", 0.0)  # forgotten at once
    tg = world.tg
    async with world.bot():
        photo = tg.send_photo(USER, png_bytes(6))
        offer = await buttons_for(world, photo)
        tg.press_button(USER, offer.message_id, offer.buttons[0]["callback_data"])
        prompt = await prompt_for(world, photo)
        question = tg.send_text(USER, "what is it?", reply_to=prompt.message_id)
        reply = await world.reply_to(USER, question, lambda m: True)
    assert reply.text == "I no longer have the photo you are asking about. Send it again, please."
    assert world.dynaspark.submissions == []


async def test_the_buttons_and_the_prompt_speak_russian(world: World) -> None:
    tg = world.tg
    tg.add_user(USER, language_code="ru")
    async with world.bot():
        photo = tg.send_photo(USER, png_bytes(7))
        offer = await buttons_for(world, photo)
        assert offer.text == "Что сделать с этой картинкой?"
        assert offer.buttons[0]["text"] == "❓ Спросить о ней"
        tg.press_button(USER, offer.message_id, offer.buttons[0]["callback_data"])
        prompt = await prompt_for(world, photo)
    assert prompt.text == "Что вы хотите узнать об этой картинке?"
    assert (prompt.reply_markup or {})["input_field_placeholder"] == "Ваш вопрос о картинке"


async def test_a_photo_in_a_group_gets_no_buttons(world: World) -> None:
    tg = world.tg
    group = -1007301
    tg.add_chat(group, chat_type="supergroup")
    async with world.bot():
        tg.send_photo(group, png_bytes(8), user_id=41)
        marker = tg.send_text(group, "/help", user_id=41)
        await world.reply_to(group, marker, lambda m: True)
    assert [m.reply_to for m in tg.bot_messages(group)] == [marker["message_id"]]


async def test_describe_under_a_photo_writes_a_prompt_that_draws_it(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    vision.answer = "a green square on white, flat design"
    async with world.bot():
        photo = tg.send_photo(USER, png_bytes(1))
        offer = await buttons_for(world, photo)
        tg.press_button(USER, offer.message_id, offer.buttons[1]["callback_data"])
        written = await world.reply_to(USER, photo, lambda m: "🎨" in (m.text or ""))
        assert "a green square on white, flat design" in (written.text or "")
        [draw] = written.buttons
        tg.press_button(USER, written.message_id, draw["callback_data"])
        note = await world.reply_to(USER, {"message_id": written.message_id}, lambda m: True)
        await world.photos_for(USER, {"message_id": note.message_id}, 1)
    [submission] = vision.submissions
    assert submission.file is not None and submission.file.value == png_bytes(1)
    assert world.arta.job_list[0].form["prompt"] == "a green square on white, flat design"
