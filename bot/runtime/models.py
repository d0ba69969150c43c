"""Which model a chat uses: stored choice, operator default, and changing it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.runtime import Runtime
from providers import Kind, ModelEntry, UnknownModel

COLUMNS = {Kind.IMAGE: "image_model", Kind.VISION: "vision_model", Kind.EDIT: "edit_model"}
"""The chat_prefs column that keeps a chat's choice of each kind."""


@dataclass(frozen=True)
class ChatModels:
    image: ModelEntry
    vision: ModelEntry
    edit: ModelEntry | None
    """None when no configured provider edits pictures."""


async def current(runtime: Runtime, chat_id: int, kind: Kind) -> ModelEntry:
    """The chat's model of that kind; a stored id the registry no longer knows falls back to the
    operator's default (the chat keeps working and /model shows what is used)."""
    prefs = await runtime.storage.get_prefs(chat_id)
    stored = getattr(prefs, COLUMNS[kind])
    if stored:
        try:
            return runtime.registry.resolve(stored, kind)
        except UnknownModel:
            pass
    return default(runtime, kind)


def default(runtime: Runtime, kind: Kind) -> ModelEntry:
    """The operator's default model of ``kind``; NoModelOfKind when no provider offers one
    (only edit models can be missing: image and vision models always have the seeds)."""
    found = runtime.defaults.get(kind)
    if found is None:
        raise NoModelOfKind(kind)
    return found


class NoModelOfKind(LookupError):
    """No configured provider offers a model of ``kind`` (no edit model is configured)."""

    def __init__(self, kind: Kind) -> None:
        super().__init__(f"no {kind.value} model is configured")
        self.kind = kind


async def chat_models(runtime: Runtime, chat_id: int) -> ChatModels:
    edit = await current(runtime, chat_id, Kind.EDIT) if Kind.EDIT in runtime.defaults else None
    return ChatModels(
        image=await current(runtime, chat_id, Kind.IMAGE),
        vision=await current(runtime, chat_id, Kind.VISION),
        edit=edit,
    )


async def choose(runtime: Runtime, chat_id: int, entry: ModelEntry) -> None:
    """Stores ``entry`` as the chat's model of its kind."""
    await runtime.storage.set_prefs(chat_id, **{COLUMNS[entry.kind]: entry.id})
