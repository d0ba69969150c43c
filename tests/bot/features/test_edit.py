"""Which captions ask this bot for an edit, and what they ask."""

from __future__ import annotations

import datetime as dt

import pytest
from telegram import Chat, Message

from bot.features.edit import instruction

BOT = "ImagineTestBot"


def captioned(caption: str, chat_type: str) -> Message:
    return Message(1, dt.datetime.now(dt.UTC), Chat(1, chat_type), caption=caption)


@pytest.mark.parametrize(
    ("caption", "chat_type", "asked"),
    [
        ("make it winter", Chat.PRIVATE, "make it winter"),
        ("/edit make it night", Chat.PRIVATE, "make it night"),
        ("/edit", Chat.PRIVATE, ""),  # asked, with nothing to change: told so
        ("/ask what is this?", Chat.PRIVATE, None),  # another command's caption
        ("/edit@OtherBot snow", Chat.PRIVATE, None),  # another bot's
        ("", Chat.PRIVATE, None),
        ("@ImagineTestBot make it night", Chat.SUPERGROUP, "make it night"),
        ("/edit@ImagineTestBot snow", Chat.SUPERGROUP, "snow"),
        ("@ImagineTestBot /ask what is this?", Chat.SUPERGROUP, None),
        ("look at my cat", Chat.SUPERGROUP, None),  # words for the group, not the bot
    ],
)
def test_a_caption_asks_for_an_edit_only_when_meant_for_this_bot(
    caption: str, chat_type: str, asked: str | None
) -> None:
    message = captioned(caption, chat_type)
    assert instruction(message, BOT, private=chat_type == Chat.PRIVATE) == asked
