"""Who may change a chat's models, /settings and /language (GROUP_MODEL_ADMINS_ONLY)."""

from __future__ import annotations

from telegram import Chat, Message, User

from bot.runtime import BotContext
from bot.telegram.admins import is_admin

ANONYMOUS_ADMIN_ID = 1087968824  # @GroupAnonymousBot, who speaks for anonymous group admins


async def may_change(
    context: BotContext, chat: Chat, user: User | None, message: Message | None
) -> bool:
    """Whether this user may change the chat's models (groups can limit it to admins)."""
    runtime = context.runtime
    if chat.type == Chat.PRIVATE or not runtime.settings.group_model_admins_only:
        return True
    if user is None:
        return False
    if user.id == ANONYMOUS_ADMIN_ID and message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    return await is_admin(context.bot, chat, user, runtime.settings.admin_user_ids)
