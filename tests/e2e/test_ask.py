"""/ask end to end: by caption, by reply, text alone, long and formatted answers."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.fakes.arta import png_bytes

USER = 701


async def test_ask_as_a_photo_caption_sends_the_photo_bytes(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    vision.answer = "A **red** square."
    async with world.bot():
        command = tg.send_photo(USER, png_bytes(1), caption="/ask what is this?")
        answer = await world.reply_to(USER, command, lambda m: (m.text or "").startswith("A red"))
        assert answer.text == "A red square."
        assert any(e["type"] == "bold" for e in answer.entities)
        [submission] = vision.submissions
        assert submission.user_input == "what is this?"
        assert submission.ai_model == "gemini-1.5-flash"
        assert submission.file is not None and submission.file.value == png_bytes(1)
        assert tg.chat_actions[-1][1] == "typing"


async def test_ask_as_a_reply_to_a_photo_downloads_it(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    async with world.bot():
        photo = tg.send_photo(USER, png_bytes(3))
        command = tg.send_text(USER, "/ask which colour?", reply_to=photo["message_id"])
        await world.reply_to(USER, command, lambda m: m.text == vision.answer)
        file = vision.submissions[0].file
        assert file is not None and file.value == png_bytes(3)
        assert tg.calls("getFile")


async def test_ask_with_text_alone_and_with_nothing(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    async with world.bot():
        command = tg.send_text(USER, "/ask what is a fox?")
        await world.reply_to(USER, command, lambda m: m.text == vision.answer)
        assert vision.submissions[0].file is None
        empty = tg.send_text(USER, "/ask")
        reply = await world.reply_to(USER, empty, lambda m: True)
        assert "caption /ask" in (reply.text or "")
        assert len(vision.submissions) == 1


async def test_a_long_answer_is_split_and_nothing_is_lost(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    lines = [f"{i}. " + "the quick brown fox jumps over the lazy dog " * 3 for i in range(1, 80)]
    vision.answer = "\n".join(lines)
    async with world.bot():
        command = tg.send_text(USER, "/ask tell me a lot")

        def parts() -> list[str]:
            texts = [
                m.text or "" for m in tg.bot_messages(USER) if m.reply_to == command["message_id"]
            ]
            return texts if any("79." in t for t in texts) else []

        texts = await tg.wait_for(parts)
        answer_parts = [t for t in texts if "quick brown fox" in t]
        assert len(answer_parts) >= 2
        assert all(len(t) <= 4096 for t in answer_parts)
        joined = "\n".join(answer_parts)
        assert all(f"{i}." in joined for i in range(1, 80))


async def test_vision_failure_is_explained(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    vision.status = 502
    async with world.bot():
        command = tg.send_photo(USER, png_bytes(0), caption="/ask what is this?")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: (status.text or "").startswith("⚠️ Dynaspark"))
