"""Who runs a chat: operators, the private chat's own user, a group's owner or administrators."""

from __future__ import annotations

from telegram import Bot, Chat, ChatMember, User
from telegram.error import TelegramError


async def is_admin(bot: Bot, chat: Chat, user: User, operators: frozenset[int]) -> bool:
    """Whether ``user`` runs this chat: an operator (ADMIN_USER_IDS), the private chat's own
    user, or a group's owner or administrator (asked of Telegram; no answer counts as no)."""
    if chat.type == Chat.PRIVATE or user.id in operators:
        return True
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)
