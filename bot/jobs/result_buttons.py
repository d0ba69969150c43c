"""The buttons under a result: their callback data (:class:`Press`, checked, within Telegram's
64 bytes) and their look, in the job's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.telegram.callback_data import CallbackData

AGAIN, VARIATIONS, ORIGINAL, DESCRIBE, EDIT = "a", "v", "o", "d", "e"
INLINE_QUERY_LIMIT = 256  # characters of an inline query (the ✏️ button pre-fills one)
PER_ROW = 5
ACTIONS = AGAIN + VARIATIONS + ORIGINAL + DESCRIBE + EDIT
PICTURES = 10  # an album holds at most 10: 🔎 and 🖌 buttons go by a one-digit index


@dataclass(frozen=True)
class Press(CallbackData):
    """A result button: which job's result, what to do, and on which picture (0-based).

    Its data is ``r:<job>:<action>[:<index>]`` (the index left out for the first picture).
    Keyboards wait in the outbox across restarts, so that form must never change."""

    prefix: ClassVar[str] = "r"

    job_id: int
    action: str
    index: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS or len(self.action) != 1:
            raise ValueError(f"no result button does {self.action!r}")
        if not 0 <= self.index < PICTURES:
            raise ValueError(f"no picture {self.index} under a result")


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
    edits: bool = True,
) -> InlineKeyboardMarkup:
    """🔄 again, 🎲 variations (when the model draws several at once), ✏️ the prompt to change
    (when inline mode is on), 📎 the original files (while they are kept), 🔎 describe and
    🖌 edit the picture (when some model here edits), one of each per picture when there are
    several."""

    def button(text: str, action: str, index: int = 0) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=Press(job_id, action, index).pack())

    first = [button(tr.gettext("🔄 Again"), AGAIN)]
    if variations:
        first.append(button(tr.gettext("🎲 Variations"), VARIATIONS))
    if edit is not None:
        first.append(
            InlineKeyboardButton(tr.gettext("✏️ Prompt"), switch_inline_query_current_chat=edit)
        )
    rows = [first]
    if count == 1:
        second = [button(tr.gettext("🔎 Describe"), DESCRIBE)]
        if edits:
            second.append(button(tr.gettext("🖌 Edit"), EDIT))
        if originals:
            second.insert(0, button(tr.gettext("📎 Original"), ORIGINAL))
        rows.append(second)
        return InlineKeyboardMarkup(rows)
    if originals:
        rows.append([button(tr.gettext("📎 Originals"), ORIGINAL)])
    for icon, action in (("🔎", DESCRIBE), ("🖌", EDIT))[: 2 if edits else 1]:
        row = [button(f"{icon} {i + 1}", action, i) for i in range(min(count, PICTURES))]
        rows += [row[start : start + PER_ROW] for start in range(0, len(row), PER_ROW)]
    return InlineKeyboardMarkup(rows)
