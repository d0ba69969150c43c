"""Model answers in Markdown, rendered as Telegram text + entities and split to fit a message."""

from __future__ import annotations

from dataclasses import dataclass

import telegramify_markdown
from telegram import MessageEntity

from bot.telegram.render import TEXT_LIMIT


@dataclass(frozen=True)
class Chunk:
    """One message's worth: plain text and its formatting entities."""

    text: str
    entities: list[MessageEntity]


def render_markdown(markdown: str, limit: int = TEXT_LIMIT) -> list[Chunk]:
    """Chunks of at most ``limit`` UTF-16 units; entities mean nothing needs escaping."""
    text, entities = telegramify_markdown.convert(markdown)
    chunks = []
    for part, part_entities in telegramify_markdown.split_entities(text, entities, limit):
        converted = [MessageEntity(**e.to_dict()) for e in part_entities]
        chunks.append(Chunk(part, converted))
    if not chunks and markdown.strip():
        chunks.append(Chunk(markdown.strip()[:limit], []))
    return chunks
