"""The photo buttons' callback data: small, and only ever read back as what was packed."""

from __future__ import annotations

import pytest

from bot.features.private_chats.photo_buttons import (
    ASK,
    DESCRIBE,
    EDIT,
    PhotoAction,
    photo_actions,
)
from bot.i18n import translator


def test_callback_data_fits_telegrams_64_bytes_and_reads_back() -> None:
    action = PhotoAction(ASK, 2**31 - 1)
    data = action.pack()
    assert len(data.encode()) <= 64
    assert PhotoAction.unpack(data) == action


@pytest.mark.parametrize(
    "data",
    [
        "",
        "photo",
        "photo:ask",
        "photo:ask:",
        "photo:ask:x1",
        "photo:ask:-1",
        "mdl:ask:1",
        "photo:ask:1:2",
        "photo:ask:" + "1" * 60,
    ],
)
def test_data_that_is_not_ours_reads_as_nothing(data: str) -> None:
    assert PhotoAction.unpack(data) is None


def test_an_action_that_does_not_fit_is_refused_when_packed() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        PhotoAction("a" * 60, 1).pack()


def test_the_keyboard_asks_about_the_photo_in_the_users_language() -> None:
    [[button, describe], [edit]] = photo_actions(translator("ru"), 17).inline_keyboard
    assert [button.text, describe.text, edit.text] == [
        "❓ Спросить о ней",
        "🔎 Описать",
        "🖌 Изменить",
    ]
    [[button, describe]] = photo_actions(translator("en"), 17, edits=False).inline_keyboard
    assert PhotoAction.unpack(edit.callback_data or "") == PhotoAction(EDIT, 17)  # type: ignore[arg-type]
    assert PhotoAction.unpack(button.callback_data or "") == PhotoAction(ASK, 17)  # type: ignore[arg-type]
    assert PhotoAction.unpack(describe.callback_data or "") == PhotoAction(DESCRIBE, 17)  # type: ignore[arg-type]
