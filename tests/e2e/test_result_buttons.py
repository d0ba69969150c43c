"""The buttons under results: again, variations, original, describe, edit; and /describe."""

from __future__ import annotations

import io
from typing import Any

from aiohttp import web
from PIL import Image

from tests.e2e.conftest import World
from tests.fakes.arta import png_bytes
from tests.fakes.server import FakeServer
from tests.fakes.telegram import CallbackAnswer, StoredMessage

USER = 801
OTHER = 802
GROUP = -100801


def button(message: StoredMessage, label: str) -> dict[str, Any]:
    """The button on ``message`` whose text starts with ``label``."""
    found = [b for b in message.buttons if b["text"].startswith(label)]
    assert found, f"no {label!r} button in {message.buttons}"
    return found[0]


async def answer_to(world: World, query_id: str) -> CallbackAnswer:
    """What the bot answered to the press ``query_id``."""

    def find() -> CallbackAnswer | None:
        answers = [a for a in world.tg.callback_answers if a.callback_query_id == query_id]
        return answers[0] if answers else None

    return await world.tg.wait_for(find)


async def press(world: World, chat_id: int, message: StoredMessage, label: str, **kw: Any) -> str:
    data = button(message, label)["callback_data"]
    return world.tg.press_button(chat_id, message.message_id, data, **kw)


async def on_behalf(world: World, chat_id: int, under: StoredMessage, emoji: str) -> StoredMessage:
    """The message the bot writes for a press on ``under`` (the job's command)."""
    return await world.reply_to(
        chat_id, {"message_id": under.message_id}, lambda m: (m.text or "").startswith(emoji)
    )


async def test_again_draws_the_same_request_with_a_new_seed(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/imagine a red fox --ar 16:9 --seed 42")
        [photo] = await world.photos_for(USER, command, 1)
        assert [b["text"] for b in photo.buttons] == [
            "🔄 Again",
            "🎲 Variations",
            "📎 Original",
            "🔎 Describe",
        ]
        query = await press(world, USER, photo, "🔄")
        assert (await answer_to(world, query)).show_alert is False
        note = await on_behalf(world, USER, photo, "🔄")
        assert "a red fox" in (note.text or "")
        assert (note.text or "").startswith("🔄 Drawing this again:")  # names no one in private
        [again] = await world.photos_for(USER, {"message_id": note.message_id}, 1)
    first, second = world.arta.job_list
    assert second.form["prompt"] == first.form["prompt"] == "a red fox"
    assert second.form["aspect_ratio"] == first.form["aspect_ratio"] == "16:9"
    assert first.form["seed"] == "42" and second.form["seed"] != "42"
    assert f"seed {second.form['seed']}" in (again.caption or "")
    assert again.buttons, "the new picture has buttons of its own"


async def test_variations_draw_several_at_once_with_buttons_after_the_album(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/imagine a lighthouse")
        [photo] = await world.photos_for(USER, command, 1)
        await press(world, USER, photo, "🎲")
        note = await on_behalf(world, USER, photo, "🎲")
        album = await world.photos_for(USER, {"message_id": note.message_id}, 4)
        keyboard = await tg.wait_for_bot_message(
            USER, lambda m: bool(m.buttons) and m.kind == "text"
        )
    assert world.arta.job_list[1].form["images_num"] == "4"
    assert len({m.media_group_id for m in album}) == 1 and not any(m.buttons for m in album)
    labels = [b["text"] for b in keyboard.buttons]
    assert labels[:3] == ["🔄 Again", "🎲 Variations", "📎 Originals"]
    assert labels[3:] == ["🔎 1", "🔎 2", "🔎 3", "🔎 4"]
    assert keyboard.reply_to == min(m.message_id for m in album)


class WebpUpstream(FakeServer):
    """Serves one WebP picture (a format the bot converts before posting it as a photo)."""

    def __init__(self) -> None:
        super().__init__()
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, format="WEBP")
        self.body = buffer.getvalue()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/picture.webp", self._picture)]

    async def _picture(self, request: web.Request) -> web.Response:
        return web.Response(body=self.body, content_type="image/webp")


async def test_original_is_the_exact_upstream_file_as_a_document(world: World) -> None:
    tg = world.tg
    async with WebpUpstream() as upstream:
        world.arta.result_url = f"{upstream.url}/picture.webp"
        async with world.bot():
            command = tg.send_text(USER, "/imagine a blue card")
            [photo] = await world.photos_for(USER, command, 1)
            assert photo.photo != upstream.body  # posted as a PNG photo
            await press(world, USER, photo, "📎")
            document = await world.reply_to(
                USER, {"message_id": photo.message_id}, lambda m: m.kind == "document"
            )
    assert document.document == upstream.body
    assert (document.document_info or {}).get("file_name") == "original-1.webp"


async def test_describe_asks_the_vision_model_about_that_picture_and_draw_it_draws(
    world: World,
) -> None:
    tg = world.tg
    world.dynaspark.answer = "Prompt: a cosy cabin in falling snow, warm light, oil painting"
    async with world.bot():
        command = tg.send_text(USER, "/imagine a cabin")
        [photo] = await world.photos_for(USER, command, 1)
        await press(world, USER, photo, "🔎")
        answer = await world.reply_to(
            USER, {"message_id": photo.message_id}, lambda m: bool(m.buttons)
        )
        [submission] = world.dynaspark.submissions
        assert submission.file is not None
        assert submission.file.value == tg.file_bytes(photo.photo_file_id or "")
        assert "a cosy cabin in falling snow, warm light, oil painting" in (answer.text or "")
        assert "Prompt:" not in (answer.text or "")
        await press(world, USER, answer, "🎨")
        note = await on_behalf(world, USER, answer, "🎨")
        await world.photos_for(USER, {"message_id": note.message_id}, 1)
    assert (note.text or "").startswith("🎨 Drawing: a cosy cabin")  # names no one in private
    assert (
        world.arta.job_list[1].form["prompt"]
        == "a cosy cabin in falling snow, warm light, oil painting"
    )


async def test_the_buttons_still_work_after_a_restart(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/imagine a fox")
        [photo] = await world.photos_for(USER, command, 1)
    async with world.bot():
        await press(world, USER, photo, "📎")
        document = await world.reply_to(
            USER, {"message_id": photo.message_id}, lambda m: m.kind == "document"
        )
        await press(world, USER, photo, "🔄")
        note = await on_behalf(world, USER, photo, "🔄")
        await world.photos_for(USER, {"message_id": note.message_id}, 1)
    assert document.document == png_bytes(0)
    assert len(world.arta.job_list) == 2


async def test_in_groups_only_the_requester_or_an_admin_may_press(world: World) -> None:
    tg = world.tg
    tg.add_user(OTHER, language_code="ru")
    async with world.bot():
        command = tg.send_text(GROUP, "/imagine a fox", user_id=USER)
        [photo] = await world.photos_for(GROUP, command, 1)
        query = await press(world, GROUP, photo, "🔄", user_id=OTHER)
        refusal = await answer_to(world, query)
        assert refusal.show_alert and "администратор" in (refusal.text or "")
        tg.set_member_status(GROUP, OTHER, "administrator")
        query = await press(world, GROUP, photo, "🔄", user_id=OTHER)
        assert not (await answer_to(world, query)).show_alert
        note = await on_behalf(world, GROUP, photo, "🔄")
        assert "🔄 Drawing this again" not in (note.text or "")  # a group hears who asked
        await world.photos_for(GROUP, {"message_id": note.message_id}, 1)
    assert len(world.arta.job_list) == 2


async def test_forged_and_stale_presses_change_nothing(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/imagine a fox")
        [photo] = await world.photos_for(USER, command, 1)
        for data in ("r:999:a", "r:1:x", "r:1:a:z", "p:1"):
            query = tg.press_button(USER, photo.message_id, data, strict=False)
            assert (await answer_to(world, query)).show_alert
        # The job's own button, pressed in another chat, is not that chat's result.
        query = tg.press_button(USER + 1, 1, "r:1:a", strict=False)
        assert (await answer_to(world, query)).show_alert
    assert len(world.arta.job_list) == 1


async def test_describe_command_answers_a_photo_with_a_prompt(world: World) -> None:
    tg = world.tg
    world.dynaspark.answer = '"a red square, minimalism"'
    async with world.bot():
        usage = tg.send_text(USER, "/describe")
        refusal = await world.reply_to(USER, usage, lambda m: True)
        photo = tg.send_photo(USER, png_bytes(1), caption="/describe")
        answer = await world.reply_to(USER, photo, lambda m: bool(m.buttons))
    assert "Reply to a photo with /describe" in (refusal.text or "")
    assert "a red square, minimalism" in (answer.text or "") and '"' not in (answer.text or "")
    assert world.dynaspark.submissions[0].file is not None
    assert world.dynaspark.submissions[0].file.value == png_bytes(1)


async def test_edit_prefills_the_prompt_and_seed_when_inline_mode_is_on(world: World) -> None:
    tg = world.tg
    tg.inline_mode = True
    tg.add_user(USER, language_code="ru")
    async with world.bot():
        command = tg.send_text(USER, "/imagine a red fox --seed 7")
        [photo] = await world.photos_for(USER, command, 1)
    labels = [b["text"] for b in photo.buttons]
    assert labels == ["🔄 Ещё раз", "🎲 Варианты", "✏️ Описание", "📎 Оригинал", "🔎 Описать"]
    edit = button(photo, "✏️")
    assert edit["switch_inline_query_current_chat"] == "/imagine a red fox --seed 7"


async def test_a_picture_is_described_once(world: World) -> None:
    tg = world.tg
    async with world.bot():
        command = tg.send_text(USER, "/imagine a cabin")
        [photo] = await world.photos_for(USER, command, 1)
        await press(world, USER, photo, "🔎")
        await world.reply_to(USER, {"message_id": photo.message_id}, lambda m: bool(m.buttons))
        again = await press(world, USER, photo, "🔎")
        refusal = await answer_to(world, again)
    assert refusal.show_alert and "described already" in (refusal.text or "")
    assert len(world.dynaspark.submissions) == 1


async def test_help_mentions_inline_mode_only_when_it_is_on(world: World) -> None:
    tg = world.tg
    async with world.bot():
        plain = await world.reply_to(USER, tg.send_text(USER, "/help"), lambda m: True)
    tg.inline_mode = True
    async with world.bot():
        inline = await world.reply_to(USER, tg.send_text(USER, "/help"), lambda m: True)
    assert "@ImagineTestBot and a prompt" not in (plain.text or "")
    assert "@ImagineTestBot and a prompt" in (inline.text or "")
