"""Captions, status lines and Markdown answers as the user sees them."""

from __future__ import annotations

from telegram import MessageEntity

from bot.i18n import translator
from bot.telegram import render
from bot.telegram.commands import split_command
from bot.telegram.markdown import render_markdown
from providers import Stage

EN = translator("en")


def test_caption_keeps_model_and_seed_when_prompt_is_huge() -> None:
    caption = render.caption(EN, "word " * 500, "arta/flux", 1234)
    assert len(caption) <= render.CAPTION_LIMIT
    assert caption.endswith("🎨 arta/flux · seed 1234")
    assert "…" in caption


def test_short_caption_is_untouched() -> None:
    assert render.caption(EN, "a fox", "sd35/sd-3.5", None) == "a fox\n\n🎨 sd35/sd-3.5"


def test_progress_and_waiting_texts() -> None:
    assert render.progress_text(EN, "arta/flux", Stage.GENERATING, 12.7) == (
        "🎨 drawing with arta/flux · 12 s"
    )
    assert "#3 in line" in render.waiting_text(EN, "arta/flux", 3)


def test_markdown_becomes_entities_not_escapes() -> None:
    [chunk] = render_markdown("**Cat** at `home`, 2*3_4 [link](https://example.org)")
    assert "*" not in chunk.text.replace("2*3", "")
    kinds = {e.type for e in chunk.entities}
    assert {MessageEntity.BOLD, MessageEntity.CODE, MessageEntity.TEXT_LINK} <= kinds


def test_long_answers_are_split_under_the_limit() -> None:
    text = "\n".join(f"Line {i}: " + "lorem ipsum " * 10 for i in range(200))
    chunks = render_markdown(text)
    assert len(chunks) > 1
    assert all(len(c.text.encode("utf-16-le")) // 2 <= render.TEXT_LIMIT for c in chunks)
    assert "Line 0:" in chunks[0].text and "Line 199:" in chunks[-1].text


def test_commands_for_this_bot_only() -> None:
    assert split_command("/imagine@ImagineTestBot a fox", "ImagineTestBot") == (
        "imagine",
        "a fox",
    )
    assert split_command("/imagine@imaginetestbot\nfox", "ImagineTestBot") == ("imagine", "fox")
    assert split_command("/imagine@OtherBot a fox", "ImagineTestBot") is None
    assert split_command("hello /imagine", "ImagineTestBot") is None
