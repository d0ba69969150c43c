"""/stats: job figures for the operators (ADMIN_USER_IDS); anyone else gets a polite no."""

from __future__ import annotations

import time

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.features.stats import figures as stats
from bot.i18n import N_, Translator
from bot.jobs.rejected import Rejected
from bot.jobs.takeover import ALIVE_SECONDS
from bot.runtime import BotContext
from bot.runtime.languages import texts_for
from bot.storage.database import Storage
from bot.storage.records import PaymentRecord
from bot.telegram.commands import arguments, no_arguments

PAYMENTS_LISTED = 10
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
    text = stats.text(tr, figures)
    if runtime.credits.enabled or runtime.credits.packs:
        text += "\n\n" + payments_text(tr, await runtime.credits.payments(PAYMENTS_LISTED))
    if runtime.settings.shared:
        text += "\n\n" + await replicas_text(tr, runtime.storage, runtime.replica)
    await message.reply_text(text)


async def replicas_text(tr: Translator, storage: Storage, replica: str) -> str:
    """Which replica answered and which replicas beat lately (several share the database)."""
    alive = await storage.replicas_alive(time.time() - ALIVE_SECONDS)
    return tr.gettext("🖧 Answered by replica {replica}; replicas alive: {alive}.").format(
        replica=replica, alive=", ".join(alive) or replica
    )


def payments_text(tr: Translator, payments: list[PaymentRecord]) -> str:
    """The latest Stars payments, newest first: when, who, stars, credits, the charge id (what
    /refund takes) and whether it was refunded."""
    if not payments:
        return tr.gettext("⭐ No payments yet.")
    lines = [tr.gettext("⭐ Latest payments:")]
    for payment in payments:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(payment.created_at))
        line = tr.gettext("{when} · user {user} · {stars} ⭐ → {credits} · {charge}").format(
            when=when,
            user=payment.user_id,
            stars=payment.stars,
            credits=payment.credits,
            charge=payment.charge_id,
        )
        if payment.refunded_at is not None:
            line += " · " + tr.gettext("refunded")
        lines.append(line)
    return "\n".join(lines)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler("stats", stats_command)]
