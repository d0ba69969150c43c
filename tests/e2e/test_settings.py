"""/settings end to end: what the next /imagine sends upstream and how its pictures arrive,
buttons and text, persistence, groups, mistakes, Russian."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import World
from tests.fakes.telegram import StoredMessage

USER = 701
RU_USER = 702
GROUP = -1007001


def button(message: StoredMessage, contains: str) -> dict[str, Any]:
    for candidate in message.buttons:
        if contains in candidate["text"]:
            return candidate
    raise AssertionError(f"no button with {contains!r} in {[b['text'] for b in message.buttons]}")


async def reply(world: World, chat_id: int, text: str, **kwargs: Any) -> StoredMessage:
    """Sends ``text`` and returns the bot's first reply to it."""
    command = world.tg.send_text(chat_id, text, **kwargs)
    return await world.reply_to(chat_id, command, lambda m: True)


async def test_text_settings_shape_the_next_imagine_and_survive_a_restart(world: World) -> None:
    tg = world.tg
    async with world.bot():
        for text in (
            "/settings ar 16:9",
            "/settings n 2",
            "/settings no blurry, text",
            "/settings spoiler on",
            "/settings caption above",
        ):
            answer = await reply(world, USER, text)
            assert (answer.text or "").startswith("Saved."), answer.text
        assert "16:9" in (answer.text or "") and "blurry, text" in (answer.text or "")

        imagine = tg.send_text(USER, "/imagine a fox")
        photos = await world.photos_for(USER, imagine, 2)
        form = world.arta.job_list[0].form
        assert form["aspect_ratio"] == "16:9"
        assert form["images_num"] == "2"
        assert form["negative_prompt"] == "blurry, text"
        assert all(p.has_spoiler for p in photos)
        captioned = [p for p in photos if p.caption]
        assert len(captioned) == 1 and captioned[0].show_caption_above_media

    async with world.bot():  # a new Application on the same database
        imagine = tg.send_text(USER, "/imagine a cat --ar 1:1 --n 1")
        photos = await world.photos_for(USER, imagine, 1)
        form = world.arta.job_list[1].form
        assert form["aspect_ratio"] == "1:1" and form["images_num"] == "1"  # flags win
        assert form["negative_prompt"] == "blurry, text"
        assert photos[0].has_spoiler and photos[0].show_caption_above_media

        answer = await reply(world, USER, "/settings reset")
        assert "model's default" in (answer.text or "")
        imagine = tg.send_text(USER, "/imagine a bird")
        photos = await world.photos_for(USER, imagine, 1)
        form = world.arta.job_list[2].form
        assert form["images_num"] == "1" and form.get("negative_prompt") != "blurry, text"
        assert not photos[0].has_spoiler and not photos[0].show_caption_above_media


async def test_buttons_change_settings_and_callback_data_fits(world: World) -> None:
    tg = world.tg
    async with world.bot():
        menu = await reply(world, USER, "/settings")
        assert all(len(b["callback_data"].encode()) <= 64 for b in menu.buttons)
        tg.press_button(USER, menu.message_id, button(menu, "9:16")["callback_data"])
        await tg.wait_for(lambda: "✅ 9:16" in [b["text"] for b in menu.buttons])
        tg.press_button(USER, menu.message_id, button(menu, "×3")["callback_data"])
        await tg.wait_for(lambda: "✅ ×3" in [b["text"] for b in menu.buttons])
        tg.press_button(USER, menu.message_id, button(menu, "Spoiler")["callback_data"])
        await tg.wait_for(lambda: "Spoiler: on" in (menu.text or ""))

        imagine = tg.send_text(USER, "/imagine a fox")
        photos = await world.photos_for(USER, imagine, 3)
        form = world.arta.job_list[0].form
        assert form["aspect_ratio"] == "9:16" and form["images_num"] == "3"
        assert all(p.has_spoiler for p in photos)

        tg.press_button(USER, menu.message_id, button(menu, "Language")["callback_data"])
        await tg.wait_for(
            lambda: any(
                "Language" in (m.text or "") and any("Русский" in b["text"] for b in m.buttons)
                for m in tg.bot_messages(USER)
            )
        )
        tg.press_button(USER, menu.message_id, "set:ar:7:5", strict=False)
        await tg.wait_for(
            lambda: [a for a in tg.callback_answers if "out of date" in (a.text or "")]
        )


async def test_a_stored_value_the_model_cannot_take_is_adapted_with_a_note(world: World) -> None:
    tg = world.tg
    async with world.bot():
        await reply(world, USER, "/settings n 3")
        await reply(world, USER, "/settings ar 21:9")
        imagine = tg.send_text(USER, "/imagine a fox --model sd-3.5")
        note = await world.reply_to(USER, imagine, lambda m: "ℹ️" in (m.text or ""))
        assert "at most 1 image" in (note.text or "")
        await world.photos_for(USER, imagine, 1)

        arta = tg.send_text(USER, "/imagine a cat")
        note = await world.reply_to(USER, arta, lambda m: "ℹ️" in (m.text or ""))
        assert "cannot draw this chat's aspect ratio 21:9" in (note.text or "")
        await world.photos_for(USER, arta, 3)
        form = world.arta.job_list[0].form
        assert form["images_num"] == "3" and form["aspect_ratio"] != "21:9"


async def test_bad_inputs_are_explained_and_change_nothing(world: World) -> None:
    async with world.bot():
        await reply(world, USER, "/settings n 2")
        answers = {
            text: (await reply(world, USER, text)).text or ""
            for text in (
                "/settings n 11",
                "/settings n two",
                "/settings ar wide",
                "/settings ar 0:9",
                "/settings spoiler maybe",
                "/settings caption left",
                "/settings no",
                "/settings colour red",
                "/settings no " + "x" * 301,
            )
        }
        assert "1 to 10" in answers["/settings n 11"]
        assert "1 to 10" in answers["/settings n two"]
        assert "W:H" in answers["/settings ar wide"] and "W:H" in answers["/settings ar 0:9"]
        assert "spoiler on" in answers["/settings spoiler maybe"]
        assert "caption above" in answers["/settings caption left"]
        assert "keep out" in answers["/settings no"]
        assert "I know these settings" in answers["/settings colour red"]
        assert "300 characters" in answers["/settings no " + "x" * 301]
        assert not any(a.startswith("Saved.") for a in answers.values())
        shown = (await reply(world, USER, "/settings")).text or ""
        assert "Images per request: 2" in shown and "Aspect ratio: model's default" in shown


async def test_in_groups_only_admins_change_settings(world: World) -> None:
    tg = world.tg
    member, admin = 21, 22
    tg.add_chat(GROUP, chat_type="supergroup")
    tg.set_member_status(GROUP, admin, "administrator")
    async with world.bot():
        refused = await reply(world, GROUP, "/settings n 4", user_id=member)
        assert refused.text == "Only this group's admins can change its settings."
        menu = await reply(world, GROUP, "/settings", user_id=member)
        tg.press_button(GROUP, menu.message_id, button(menu, "×4")["callback_data"], user_id=member)
        await tg.wait_for(lambda: [a for a in tg.callback_answers if "admins" in (a.text or "")])
        assert tg.callback_answers[-1].show_alert
        assert "Images per request: model's default" in (menu.text or "")

        allowed = await reply(world, GROUP, "/settings n 4", user_id=admin)
        assert (allowed.text or "").startswith("Saved.")
        imagine = tg.send_text(GROUP, "/imagine a fox", user_id=member)
        await world.photos_for(GROUP, imagine, 4)
        assert world.arta.job_list[0].form["images_num"] == "4"


async def test_russian_settings(world: World) -> None:
    tg = world.tg
    tg.add_user(RU_USER, language_code="ru")
    async with world.bot():
        menu = await reply(world, RU_USER, "/settings")
        assert "Настройки этого чата" in (menu.text or "")
        assert "Соотношение сторон: как у модели" in (menu.text or "")
        assert "/language" in (menu.text or "")
        assert button(menu, "Сбросить") and button(menu, "Язык")
        wrong = await reply(world, RU_USER, "/settings n 20")
        assert wrong.text == "Число изображений — от 1 до 10, например /settings n 2."
        saved = await reply(world, RU_USER, "/settings caption above")
        assert (saved.text or "").startswith("Сохранено.")
        assert "Подпись: над картинкой" in (saved.text or "")
