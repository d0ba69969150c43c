"""Result buttons: callback data within Telegram's 64 bytes, forged data refused, layout."""

from __future__ import annotations

from bot.i18n import translator
from bot.jobs.describe import DrawIt, clean_prompt
from bot.jobs.result_buttons import (
    AGAIN,
    DESCRIBE,
    EDIT,
    INLINE_QUERY_LIMIT,
    ORIGINAL,
    Press,
    edit_query,
    keyboard,
)
from bot.telegram.callback_data import LIMIT as CALLBACK_LIMIT

EN = translator("en")


def test_callback_data_round_trips_and_stays_within_64_bytes() -> None:
    for press in (Press(1, AGAIN), Press(10**17, DESCRIBE, 9), Press(42, ORIGINAL)):
        data = press.pack()
        assert len(data.encode()) <= CALLBACK_LIMIT
        assert Press.unpack(data) == press


def test_forged_callback_data_is_not_a_press() -> None:
    for data in ("", None, "r:1", "r:1:x", "r:-1:a", "r:1:a:10", "r:1:a:b", "mdl:1:a", "r:1:a "):
        assert Press.unpack(data) is None


def test_one_picture_gets_one_describe_and_edit_button_an_album_one_per_picture() -> None:
    single = keyboard(EN, 5, count=1, edit=None, variations=False, originals=False)
    assert [b.text for row in single.inline_keyboard for b in row] == [
        "🔄 Again",
        "🔎 Describe",
        "🖌 Edit",
    ]
    drawing_only = keyboard(
        EN, 5, count=2, edit=None, variations=False, originals=False, edits=False
    )
    assert [b.text for row in drawing_only.inline_keyboard for b in row] == [
        "🔄 Again",
        "🔎 1",
        "🔎 2",
    ]
    album = keyboard(EN, 5, count=7, edit="/imagine x", variations=True, originals=True)
    rows = [[b.text for b in row] for row in album.inline_keyboard]
    assert rows[0] == ["🔄 Again", "🎲 Variations", "✏️ Prompt"]
    assert rows[1] == ["📎 Originals"]
    assert rows[2:] == [
        ["🔎 1", "🔎 2", "🔎 3", "🔎 4", "🔎 5"],
        ["🔎 6", "🔎 7"],
        ["🖌 1", "🖌 2", "🖌 3", "🖌 4", "🖌 5"],
        ["🖌 6", "🖌 7"],
    ]
    assert Press.unpack(album.inline_keyboard[3][1].callback_data) == Press(5, DESCRIBE, 6)  # type: ignore[arg-type]
    assert Press.unpack(album.inline_keyboard[5][1].callback_data) == Press(5, EDIT, 6)  # type: ignore[arg-type]


def test_the_edit_query_is_left_out_when_it_would_not_fit() -> None:
    assert edit_query("a fox", 3) == "/imagine a fox --seed 3"
    assert edit_query("a fox", None) == "/imagine a fox"
    assert edit_query("x" * INLINE_QUERY_LIMIT, 3) is None


def test_a_written_prompt_loses_labels_quotes_and_fences() -> None:
    assert clean_prompt('Prompt: "a cat on a roof"') == "a cat on a roof"
    assert clean_prompt("**Prompt:** a cat") == "a cat"
    assert clean_prompt("```a cat```") == "a cat"
    assert clean_prompt("«кот на крыше»") == "кот на крыше"
    long = clean_prompt("word " * 400)
    assert len(long) <= 900 and not long.endswith(" ")
    assert DrawIt.unpack("p:12") == DrawIt(12) and DrawIt(12).pack() == "p:12"
    assert DrawIt.unpack("p:x") is None and DrawIt.unpack("p:12:3") is None
