"""Telegram's chat lifecycle: a group upgraded to a supergroup keeps its models and jobs; a chat
that blocked or removed the bot has its jobs stopped."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler, MessageHandler, filters

from bot.jobs.life import CHAT_GONE
from bot.jobs.moves import move_chat
from bot.runtime import BotContext

log = logging.getLogger(__name__)

GONE = (ChatMember.BANNED, ChatMember.LEFT)  # blocked (private chats), removed, or left


async def migrated(update: Update, context: BotContext) -> None:
    """The service message of a group's upgrade (in the old or the new chat): move its data."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        await move_chat(context.runtime, message.chat_id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id:
        await move_chat(context.runtime, message.migrate_from_chat_id, message.chat_id)


async def left_behind(update: Update, context: BotContext) -> None:
    """The user blocked the bot, or the group removed it: the chat's running and queued jobs
    end at once, quietly (nothing can be said there any more)."""
    change = update.my_chat_member
    if change is None or change.new_chat_member.status not in GONE:
        return
    count = context.runtime.jobs.cancel_chat(change.chat.id, CHAT_GONE)
    log.info("chat %s: %s; %d job(s) stopped", change.chat.id, CHAT_GONE, count)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        MessageHandler(filters.StatusUpdate.MIGRATE, migrated),
        ChatMemberHandler(left_behind, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
