"""Pictures from pictures through the bot: every way in (a captioned photo, /edit as a reply, an
album, 🖌 and its prompt, a plain reply, /imagine replying to a photo), in private chats,
groups and topics, in English and Russian, with the OpenAI fake's ``images/edits``."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image

from bot.jobs.edit import PROMPT
from tests.e2e.conftest import World, runtime
from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import EditCall, FakeOpenAI
from tests.fakes.telegram import StoredMessage

USER = 9301
GROUP = -1009300
FORUM = -1009400
MODEL = "openai/gpt-image-2"


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake  # type: ignore[misc]


def with_edits(fake: FakeOpenAI, **more: Any) -> dict[str, Any]:
    """Settings with the openai provider (its edit model gpt-image-2) on the fake."""
    return {"openai_api_key": fake.api_key, "openai_base_url": fake.base_url, **more}


def picture(colour: tuple[int, int, int], size: tuple[int, int] = (80, 48)) -> bytes:
    """A PNG of one colour; sizes and colours tell the pictures apart upstream."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def sideways_phone_photo() -> bytes:
    """A JPEG stored 60x40 with EXIF orientation 6 (a phone held upright): it shows 40x60, red
    on top. Stored, its left columns are red (they become the top when turned)."""
    image = Image.new("RGB", (60, 40), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def sizes_sent(call: EditCall) -> list[tuple[int, int]]:
    return [Image.open(io.BytesIO(part.value)).size for part in call.pictures]


async def edited(
    world: World, chat_id: int, command: dict[str, Any], count: int = 1
) -> list[StoredMessage]:
    return await world.photos_for(chat_id, command, count)


async def test_a_private_photo_with_words_is_edited_upright(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    async with world.bot(**with_edits(openai_fake)):
        photo = tg.send_photo(USER, sideways_phone_photo(), caption="make it winter")
        [result] = await edited(world, USER, photo)
    [call] = openai_fake.edit_calls
    assert call.fields["model"] == "gpt-image-2" and call.fields["prompt"] == "make it winter"
    [sent] = [Image.open(io.BytesIO(part.value)) for part in call.pictures]
    assert sent.size == (40, 60)  # turned upright before it went up
    top, bottom = sent.convert("RGB").getpixel((20, 5)), sent.convert("RGB").getpixel((20, 55))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]
    assert result.photo == png_bytes(0)
    assert result.caption is not None
    assert result.caption.startswith("make it winter") and f"🖌 {MODEL}" in result.caption
    labels = [b["text"] for b in result.buttons]
    assert "🔄 Again" in labels and "🖌 Edit" in labels


async def test_edit_as_a_reply_in_a_group_and_a_caption_naming_the_bot(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    async with world.bot(**with_edits(openai_fake)):
        photo = tg.send_photo(GROUP, picture((10, 200, 10)), user_id=USER, chat_type="supergroup")
        command = tg.send_text(
            GROUP, "/edit add a red hat", user_id=USER, reply_to=photo["message_id"]
        )
        await edited(world, GROUP, command)
        named = tg.send_photo(
            GROUP, picture((10, 10, 200)), caption="@ImagineTestBot make it night", user_id=USER
        )
        await edited(world, GROUP, named)
        # A caption that does not address the bot is someone else's conversation.
        tg.send_photo(GROUP, picture((200, 10, 10)), caption="look at this", user_id=USER)
        probe = tg.send_text(GROUP, "/edit", user_id=USER)
        how = await world.reply_to(GROUP, probe, lambda m: m.kind == "text")
    assert [c.fields["prompt"] for c in openai_fake.edit_calls] == [
        "add a red hat",
        "make it night",
    ]
    assert [sizes_sent(c) for c in openai_fake.edit_calls] == [[(80, 48)], [(80, 48)]]
    assert how.text is not None and how.text.startswith("Send a photo with the caption /edit")


async def test_an_album_with_one_caption_is_one_job_in_message_order(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    sizes = [(30, 30), (40, 30), (50, 30)]
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
    async with world.bot(**with_edits(openai_fake)):
        album = tg.send_album(
            USER,
            [picture(c, s) for c, s in zip(colours, sizes, strict=True)],
            caption="/edit put them on one poster",
        )
        [result] = await edited(world, USER, album[0])
    [call] = openai_fake.edit_calls
    assert call.fields["prompt"] == "put them on one poster"
    assert sizes_sent(call) == sizes
    assert result.caption is not None and "put them on one poster" in result.caption


async def test_the_brush_under_a_result_asks_and_the_answer_edits_that_picture_again(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    async with world.bot(**with_edits(openai_fake)):
        photo = tg.send_photo(USER, picture((200, 100, 0)), caption="make it a watercolour")
        [first] = await edited(world, USER, photo)
        brush = next(b for b in first.buttons if b["text"] == "🖌 Edit")
        tg.press_button(USER, first.message_id, brush["callback_data"])
        prompt = await world.reply_to(
            USER,
            {"message_id": first.message_id},
            lambda m: "force_reply" in (m.reply_markup or {}),
        )
        assert prompt.text == PROMPT
        answer = tg.send_text(USER, "now add snow", reply_to=prompt.message_id)
        [second] = await edited(world, USER, answer)
    assert [c.fields["prompt"] for c in openai_fake.edit_calls] == [
        "make it a watercolour",
        "now add snow",
    ]
    # The second edit changed the first one's result (a chain), not the user's photo.
    assert openai_fake.edit_calls[1].pictures[0].value == png_bytes(0)
    assert second.caption is not None and "now add snow" in second.caption


async def test_a_plain_reply_to_a_photo_and_imagine_replying_to_one_both_edit_it(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    async with world.bot(**with_edits(openai_fake)):
        photo = tg.send_photo(USER, picture((0, 90, 90)))
        await world.reply_to(USER, photo, lambda m: bool(m.buttons))  # the offer: 🖌 🔎 ❓
        reply = tg.send_text(USER, "turn it into a mosaic", reply_to=photo["message_id"])
        await edited(world, USER, reply)
        imagine = tg.send_text(USER, "/imagine a castle on it", reply_to=photo["message_id"])
        told = await world.reply_to(USER, imagine, lambda m: (m.text or "").startswith("🖌"))
        await edited(world, USER, imagine)
    assert told.text == f"🖌 Editing the picture you replied to with {MODEL}."
    assert [c.fields["prompt"] for c in openai_fake.edit_calls] == [
        "turn it into a mosaic",
        "a castle on it",
    ]


async def test_in_a_forum_topic_every_answer_of_an_edit_lands_in_the_topic(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    tg.add_chat(FORUM, is_forum=True)
    cats = tg.add_topic(FORUM, "Cats")
    async with world.bot(**with_edits(openai_fake)):
        photo = tg.send_photo(FORUM, picture((9, 99, 9)), user_id=USER, thread_id=cats)
        command = tg.send_text(
            FORUM, "/edit a hat on the cat", user_id=USER, reply_to=photo["message_id"]
        )
        [result] = await edited(world, FORUM, command)
        brush = next(b for b in result.buttons if b["text"] == "🖌 Edit")
        tg.press_button(FORUM, result.message_id, brush["callback_data"], user_id=USER)
        prompt = await world.reply_to(
            FORUM,
            {"message_id": result.message_id},
            lambda m: "force_reply" in (m.reply_markup or {}),
        )
    assert result.topic == cats and prompt.topic == cats
    assert tg.bot_messages(FORUM, topic=None) == []


async def test_russian_users_hear_the_prompt_and_refusals_in_russian(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    tg.add_user(USER, language_code="ru")
    async with world.bot(**with_edits(openai_fake)):
        photo = tg.send_photo(USER, picture((1, 2, 3)))
        offer = await world.reply_to(USER, photo, lambda m: bool(m.buttons))
        brush = next(b for b in offer.buttons if b["text"] == "🖌 Изменить")
        tg.press_button(USER, offer.message_id, brush["callback_data"])
        prompt = await world.reply_to(
            USER, photo, lambda m: "force_reply" in (m.reply_markup or {})
        )
        empty = tg.send_photo(USER, picture((1, 2, 3)), caption="/edit")
        refusal = await world.reply_to(USER, empty, lambda m: m.kind == "text")
    assert prompt.text == "🖌 Что изменить на этой картинке?"
    assert refusal.text is not None and refusal.text.startswith("Напишите, что изменить.")
    assert not openai_fake.edit_calls


async def test_bad_pictures_and_options_are_refused_before_anything_is_sent(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    async with world.bot(**with_edits(openai_fake, openai_edit_models="dall-e-2")):
        pdf = tg.send_document(
            USER,
            b"%PDF-1.7 not a picture",
            file_name="doc.pdf",
            mime_type="application/pdf",
            caption="/edit make it blue",
        )
        gif = tg.send_media(USER, "animation", caption="/edit make it blue")
        album = tg.send_album(
            USER, [picture((5, 5, 5)), picture((9, 9, 9))], caption="make it blue"
        )
        strong = tg.send_photo(USER, picture((5, 5, 5)), caption="make it blue --strength 0.5")
        replies = [
            await world.reply_to(USER, message, lambda m: m.kind == "text")
            for message in (pdf, gif, album[0], strong)
        ]
    texts = [r.text for r in replies]
    assert texts == [
        "I can read photos and image files; this is a PDF.",
        "I can read photos and image files; this is a GIF.",
        "openai/dall-e-2 takes one picture at a time.",
        "openai/dall-e-2 does not take a strength.",
    ]
    assert not openai_fake.edit_calls


async def test_a_refusal_by_moderation_is_told_and_held_against_no_one(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    openai_fake.fail("edits", "moderation")
    async with world.bot(**with_edits(openai_fake, fallback_edit_models="auto")) as app:
        photo = tg.send_photo(USER, picture((3, 3, 3)), caption="make it gory")
        status = await world.status_of(USER, photo)
        await tg.wait_for(lambda: "refused this request" in (status.text or ""))
        health = runtime(app).health.of("openai")
    assert status.text is not None and "moderation" in status.text
    assert health.failures_in_a_row == 0 and health.last_failure is None


async def test_without_an_edit_model_the_user_hears_that_editing_is_not_set_up(
    world: World,
) -> None:
    tg = world.tg
    async with world.bot():
        photo = tg.send_photo(USER, picture((3, 3, 3)), caption="make it winter")
        reply = await world.reply_to(USER, photo, lambda m: m.kind == "text")
    assert reply.text is not None and reply.text.startswith("No model here can edit pictures yet")


async def test_the_bot_token_never_leaves_the_bot(
    world: World, openai_fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tg = world.tg
    async with world.bot(**with_edits(openai_fake)):
        photo = tg.send_photo(USER, picture((7, 7, 7)), caption="make it winter")
        await edited(world, USER, photo)
    secret = tg.token.split(":", 1)[1]
    upstream = [
        repr(c.fields) + repr(c.pictures) + str(c.authorization) for c in openai_fake.edit_calls
    ]
    assert upstream and not any(secret in text for text in upstream)
    ours = [r.getMessage() for r in caplog.records if r.name.split(".")[0] in ("bot", "providers")]
    assert ours and not any(secret in line or "/file/bot" in line for line in ours)


async def test_an_edit_cut_short_while_fetching_its_picture_fetches_it_again(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    tg.hold("getFile")  # the bot is fetching the user's photo when it stops
    async with world.bot(**with_edits(openai_fake)):
        photo = tg.send_photo(USER, picture((40, 80, 120)), caption="make it autumn")
        status = await world.status_of(USER, photo)
        await tg.wait_for(lambda: tg.held("getFile") == 1)
    tg.release("getFile", drop=True)
    assert status.text and status.text.startswith("⏸")
    async with world.bot(**with_edits(openai_fake)):
        [result] = await edited(world, USER, photo)
        await tg.wait_for(lambda: status.deleted)
    [call] = openai_fake.edit_calls
    assert call.fields["prompt"] == "make it autumn" and sizes_sent(call) == [(80, 48)]
    assert result.caption is not None and f"🖌 {MODEL}" in result.caption


async def test_an_edit_queued_upstream_is_followed_again_after_a_restart_not_sent_twice(
    world: World,
) -> None:
    from tests.fakes.fal import FakeFal

    tg = world.tg
    async with FakeFal() as fal:
        fal.queue_frozen = True
        settings = {"fal_key": fal.key, "fal_queue_url": fal.url}
        async with world.bot(**settings):
            photo = tg.send_photo(USER, picture((200, 0, 100)), caption="/edit make it a mosaic")
            status = await world.status_of(USER, photo)
            await tg.wait_for(lambda: "queue" in (status.text or ""))
        fal.queue_frozen = False
        async with world.bot(**settings):
            [result] = await edited(world, USER, photo)
        [(app, body)] = fal.submissions
        [queued] = fal.requests_by_id.values()
    assert app == "fal-ai/flux-pro/kontext" and body["prompt"] == "make it a mosaic"
    assert "image_url" in queued.pictures
    assert result.caption is not None and "🖌 fal/kontext" in result.caption


async def test_an_album_without_words_gets_a_hint_for_what_works_here(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    async with world.bot():  # no model edits here
        album = tg.send_album(USER, [picture((1, 1, 1)), picture((2, 2, 2))])
        plain = await world.reply_to(USER, album[0], lambda m: m.kind == "text")
    async with world.bot(**with_edits(openai_fake)):
        album = tg.send_album(USER, [picture((3, 3, 3)), picture((4, 4, 4))])
        worded = await world.reply_to(USER, album[0], lambda m: m.kind == "text")
    assert plain.text is not None and plain.text.startswith("To ask about one of these pictures")
    assert worded.text is not None and worded.text.startswith("To change these pictures")
    assert not openai_fake.edit_calls


async def test_an_album_in_a_group_naming_the_bot_is_one_edit_of_every_picture(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    tg.add_chat(GROUP, chat_type="supergroup")
    sizes = [(30, 20), (20, 30)]
    async with world.bot(**with_edits(openai_fake)):
        album = tg.send_album(
            GROUP,
            [picture((90, 0, 0), sizes[0]), picture((0, 90, 0), sizes[1])],
            caption="@ImagineTestBot make a collage of these",
            user_id=USER,
        )
        [result] = await edited(world, GROUP, album[0])
    [call] = openai_fake.edit_calls
    assert call.fields["prompt"] == "make a collage of these" and sizes_sent(call) == sizes
    assert result.caption is not None and "make a collage of these" in result.caption
