"""The buttons under a result: their callback data (checked, within Telegram's 64 bytes) and
their look, in the job's language."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator

PREFIX = "r"
AGAIN, VARIATIONS, ORIGINAL, DESCRIBE = "a", "v", "o", "d"
CALLBACK_LIMIT = 64  # bytes of callback_data Telegram takes
INLINE_QUERY_LIMIT = 256  # characters of an inline query (the ✏️ button pre-fills one)
PER_ROW = 5
ACTIONS = AGAIN + VARIATIONS + ORIGINAL + DESCRIBE
_DATA = re.compile(rf"^{PREFIX}:(\d{{1,18}}):([{ACTIONS}])(?::(\d))?$")


@dataclass(frozen=True)
class Press:
    """A result button: which job's result, what to do, and on which picture (0-based)."""

    job_id: int
    action: str
    index: int = 0

    def data(self) -> str:
        """The callback data for this button."""
        suffix = f":{self.index}" if self.index else ""
        data = f"{PREFIX}:{self.job_id}:{self.action}{suffix}"
        if len(data.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
        return data

    @classmethod
    def parse(cls, data: str | None) -> Press | None:
        """The press ``data`` stands for, or None when it is not one of ours (forged, old)."""
        match = _DATA.match(data or "")
        if match is None:
            return None
        return cls(int(match[1]), match[2], int(match[3] or 0))


def edit_query(prompt: str, seed: int | None) -> str | None:
    """What ✏️ puts in the input field: ``/imagine <prompt> --seed <seed>``, or None when it
    would not fit an inline query."""
    query = f"/imagine {prompt}" + (f" --seed {seed}" if seed is not None else "")
    return query if len(query) <= INLINE_QUERY_LIMIT else None


def keyboard(
    tr: Translator,
    job_id: int,
    *,
    count: int,
    edit: str | None,
    variations: bool,
    originals: bool,
) -> InlineKeyboardMarkup:
    """🔄 again, 🎲 variations (when the model draws several at once), ✏️ edit (when inline
    mode is on), 📎 the original files (while they are kept) and 🔎 describe, one per picture
    when there are several."""

    def button(text: str, action: str, index: int = 0) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=Press(job_id, action, index).data())

    first = [button(tr.gettext("🔄 Again"), AGAIN)]
    if variations:
        first.append(button(tr.gettext("🎲 Variations"), VARIATIONS))
    if edit is not None:
        first.append(
            InlineKeyboardButton(tr.gettext("✏️ Edit"), switch_inline_query_current_chat=edit)
        )
    rows = [first]
    if count == 1:
        second = [button(tr.gettext("🔎 Describe"), DESCRIBE)]
        if originals:
            second.insert(0, button(tr.gettext("📎 Original"), ORIGINAL))
        rows.append(second)
        return InlineKeyboardMarkup(rows)
    if originals:
        rows.append([button(tr.gettext("📎 Originals"), ORIGINAL)])
    describe = [button(f"🔎 {i + 1}", DESCRIBE, i) for i in range(min(count, 10))]
    rows += [describe[start : start + PER_ROW] for start in range(0, len(describe), PER_ROW)]
    return InlineKeyboardMarkup(rows)
