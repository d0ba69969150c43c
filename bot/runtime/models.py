"""Which model a chat uses: stored choice, operator default, and changing it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.runtime import Runtime
from providers import Kind, ModelEntry, UnknownModel


@dataclass(frozen=True)
class ChatModels:
    image: ModelEntry
    vision: ModelEntry


async def current(runtime: Runtime, chat_id: int, kind: Kind) -> ModelEntry:
    """The chat's model of that kind; a stored id the registry no longer knows falls back to the
    operator's default (the chat keeps working and /model shows what is used)."""
    prefs = await runtime.storage.get_prefs(chat_id)
    stored = prefs.image_model if kind == Kind.IMAGE else prefs.vision_model
    if stored:
        try:
            return runtime.registry.resolve(stored, kind)
        except UnknownModel:
            pass
    return default(runtime, kind)


def default(runtime: Runtime, kind: Kind) -> ModelEntry:
    return runtime.defaults[kind]


async def chat_models(runtime: Runtime, chat_id: int) -> ChatModels:
    return ChatModels(
        image=await current(runtime, chat_id, Kind.IMAGE),
        vision=await current(runtime, chat_id, Kind.VISION),
    )


async def choose(runtime: Runtime, chat_id: int, entry: ModelEntry) -> None:
    """Stores ``entry`` as the chat's model of its kind."""
    column = "image_model" if entry.kind == Kind.IMAGE else "vision_model"
    await runtime.storage.set_prefs(chat_id, **{column: entry.id})
