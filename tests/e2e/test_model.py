"""/model end to end: keyboard with tabs and pages, /model <id>, persistence, groups."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import World
from tests.fakes.telegram import StoredMessage

USER = 601
GROUP = -1001234


def button(message: StoredMessage, contains: str) -> dict[str, Any]:
    for candidate in message.buttons:
        if contains in candidate["text"]:
            return candidate
    raise AssertionError(f"no button with {contains!r} in {[b['text'] for b in message.buttons]}")


async def test_keyboard_choice_is_used_and_survives_a_restart(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/model")
        menu = await world.reply_to(USER, command, lambda m: bool(m.buttons))
        assert "Image model: arta/flux" in (menu.text or "")
        assert all(len(b["callback_data"].encode()) <= 64 for b in menu.buttons)
        assert "✅ Flux" in [b["text"] for b in menu.buttons]

        tg.press_button(USER, menu.message_id, button(menu, "StabilityAI")["callback_data"])
        await tg.wait_for(lambda: any("sd-3.5" in b["text"] for b in menu.buttons))
        tg.press_button(USER, menu.message_id, button(menu, "sd-3.5")["callback_data"])
        await tg.wait_for(lambda: "Image model: sd35/sd-3.5" in (menu.text or ""))
        await tg.wait_for(
            lambda: [a for a in tg.callback_answers if a.text == "Now using sd35/sd-3.5"]
        )

        imagine = tg.send_text(USER, "/imagine a fox")
        await world.photos_for(USER, imagine, 1)
        assert len(world.sd35.jobs) == 1 and world.arta.job_list == []

    async with world.bot():  # a new Application on the same database
        command = tg.send_text(USER, "/model")
        menu = await world.reply_to(USER, command, lambda m: bool(m.buttons))
        assert "Image model: sd35/sd-3.5" in (menu.text or "")


async def test_paging_through_artas_styles(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/model")
        menu = await world.reply_to(USER, command, lambda m: bool(m.buttons))
        page = button(menu, "/")  # "1/5"
        assert page["text"].startswith("1/")
        tg.press_button(USER, menu.message_id, button(menu, "▶")["callback_data"])
        await tg.wait_for(lambda: button(menu, "/")["text"].startswith("2/"))
        tg.press_button(USER, menu.message_id, button(menu, "Watercolor")["callback_data"])
        await tg.wait_for(lambda: "Image model: arta/watercolor" in (menu.text or ""))


async def test_model_by_id_for_both_kinds_and_mistakes(world: World) -> None:
    tg = world.tg
    async with world.bot():
        replies = {}
        for text in ("/model arta/vincent_van_gogh", "/model gemini-2.0-flash", "/model fluxx"):
            command = tg.send_text(USER, text)
            replies[text] = (await world.reply_to(USER, command, lambda m: True)).text or ""
        assert replies["/model arta/vincent_van_gogh"] == (
            "Image model for this chat: arta/vincent_van_gogh"
        )
        assert replies["/model gemini-2.0-flash"] == (
            "Vision model for this chat: dynaspark/gemini-2.0-flash"
        )
        assert "Unknown model 'fluxx'" in replies["/model fluxx"]
        assert "arta/flux" in replies["/model fluxx"]
        imagine = tg.send_text(USER, "/imagine a fox")
        await world.photos_for(USER, imagine, 1)
        assert world.arta.job_list[0].form["style"] == "Vincent Van Gogh"


async def test_forged_and_stale_buttons_change_nothing(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/model")
        menu = await world.reply_to(USER, command, lambda m: bool(m.buttons))
        before = menu.text
        for data in ("mdl:s:deadbeef", "mdl:t:x:y", "something-else", "mdl:s"):
            tg.press_button(USER, menu.message_id, data, strict=False)
        await tg.wait_for(lambda: len(tg.callback_answers) == 4)
        assert all("out of date" in (a.text or "") for a in tg.callback_answers)
        assert menu.text == before
        check = tg.send_text(USER, "/model")
        again = await world.reply_to(USER, check, lambda m: bool(m.buttons))
        assert "Image model: arta/flux" in (again.text or "")


async def test_in_groups_only_admins_change_the_model(world: World) -> None:
    tg = world.tg
    member, admin = 11, 12
    tg.add_chat(GROUP, chat_type="supergroup")
    tg.set_member_status(GROUP, member, "member")
    tg.set_member_status(GROUP, admin, "administrator")
    async with world.bot():
        refused = tg.send_text(GROUP, "/model@ImagineTestBot sd-3.5", user_id=member)
        reply = await world.reply_to(GROUP, refused, lambda m: True)
        assert reply.text == "Only this group's admins can change its models."

        menu_command = tg.send_text(GROUP, "/model", user_id=member)
        menu = await world.reply_to(GROUP, menu_command, lambda m: bool(m.buttons))
        tg.press_button(
            GROUP, menu.message_id, button(menu, "Medieval")["callback_data"], user_id=member
        )
        await tg.wait_for(lambda: tg.callback_answers)
        assert tg.callback_answers[-1].show_alert and "admins" in (
            tg.callback_answers[-1].text or ""
        )

        allowed = tg.send_text(GROUP, "/model sd-3.5", user_id=admin)
        reply = await world.reply_to(GROUP, allowed, lambda m: True)
        assert reply.text == "Image model for this chat: sd35/sd-3.5"
        imagine = tg.send_text(GROUP, "/imagine a fox", user_id=member)
        await world.photos_for(GROUP, imagine, 1)
        assert len(world.sd35.jobs) == 1  # the chat's model is shared by everyone in it


async def test_the_brush_tab_lists_edit_models_and_picks_the_chats_edit_model(world: World) -> None:
    from tests.fakes.openai_api import FakeOpenAI

    tg = world.tg
    async with FakeOpenAI() as openai_fake:
        settings = {
            "openai_api_key": openai_fake.api_key,
            "openai_base_url": openai_fake.base_url,
            "openai_edit_models": "gpt-image-2,gpt-image-1.5",
        }
        async with world.bot(**settings):
            command = tg.send_text(USER, "/model")
            menu = await world.reply_to(USER, command, lambda m: bool(m.buttons))
            assert "🖌 Edit model: openai/gpt-image-2" in (menu.text or "")
            tg.press_button(USER, menu.message_id, button(menu, "🖌")["callback_data"])
            await tg.wait_for(
                lambda: any("openai/gpt-image-1.5" in b["text"] for b in menu.buttons)
            )
            assert "✅ openai/gpt-image-2" in [b["text"] for b in menu.buttons]
            tg.press_button(USER, menu.message_id, button(menu, "gpt-image-1.5")["callback_data"])
            await tg.wait_for(lambda: "Edit model: openai/gpt-image-1.5" in (menu.text or ""))
            assert "Image model: arta/flux" in (menu.text or "")  # the other kinds stay
            direct = tg.send_text(USER, "/model openai/gpt-image-2")
            said = await world.reply_to(USER, direct, lambda m: m.kind == "text")
        assert said.text == "Edit model for this chat: openai/gpt-image-2"


async def test_without_edit_models_the_menu_says_the_seeds_draw_from_text_only(
    world: World,
) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/model")
        menu = await world.reply_to(USER, command, lambda m: bool(m.buttons))
    assert "the built-in providers draw from text only" in (menu.text or "")
    assert not any(b["text"].endswith("🖌") for b in menu.buttons)
