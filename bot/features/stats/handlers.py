"""/stats: job figures for the operators (ADMIN_USER_IDS); anyone else gets a polite no."""

from __future__ import annotations

import time

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.features.stats import figures as stats
from bot.i18n import N_
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext
from bot.runtime.languages import texts_for
from bot.telegram.commands import arguments, no_arguments

OPERATORS_ONLY = N_("Sorry, /stats is for the bot's operators only.")


async def stats_command(update: Update, context: BotContext) -> None:
    """Replies to an operator with today's and this week's jobs by outcome and provider, median
    durations, active chats and the queue now; refuses everyone else."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    if user is None or user.id not in runtime.settings.admin_user_ids:
        await message.reply_text(tr.gettext(OPERATORS_ONLY))
        return
    if refusal := no_arguments(tr, "stats", arguments(message, context.bot.username)):
        raise Rejected(refusal)
    figures = await stats.collect(runtime, time.time())
    await message.reply_text(stats.text(tr, figures))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler("stats", stats_command)]
