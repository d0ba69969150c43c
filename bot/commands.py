"""The command menu (English and Russian) and splitting a command from its arguments."""

from __future__ import annotations

import re

from telegram import BotCommand, Message

MENU: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("imagine", "Draw a picture: /imagine <prompt>"),
        ("model", "Show or change this chat's models"),
        ("ask", "Ask about a photo: /ask <question>"),
        ("cancel", "Stop your running jobs"),
        ("providers", "Which providers work right now"),
        ("help", "How to use the bot"),
    ],
    "ru": [
        ("imagine", "Нарисовать картинку: /imagine <описание>"),
        ("model", "Показать или сменить модели чата"),
        ("ask", "Вопрос о фото: /ask <вопрос>"),
        ("cancel", "Остановить ваши задачи"),
        ("providers", "Какие провайдеры сейчас работают"),
        ("help", "Как пользоваться ботом"),
    ],
}


def menu(language: str) -> list[BotCommand]:
    return [BotCommand(name, text) for name, text in MENU[language]]


COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+|$)", re.S)


def split_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """(command, arguments) when ``text`` starts with a command meant for this bot.

    ``/imagine@OtherBot`` belongs to another bot and gives ``None``; the arguments keep the
    user's own spacing and line breaks.
    """
    match = COMMAND_RE.match(text)
    if match is None:
        return None
    target = match.group(2)
    if target and target.lower() != bot_username.lower():
        return None
    return match.group(1).lower(), text[match.end() :]


def arguments(message: Message, bot_username: str) -> str:
    """The text after the command in the message's text or caption."""
    parsed = split_command(message.text or message.caption or "", bot_username)
    return parsed[1] if parsed else ""
