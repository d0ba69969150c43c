"""/providers: which providers work right now, how well, and which models this chat uses."""

from __future__ import annotations

import dataclasses
import time

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.i18n import Translator
from bot.i18n.errors import recorded_error_text
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext, models
from bot.runtime.languages import texts_for
from bot.telegram import render
from bot.telegram.commands import arguments, no_arguments


async def providers_command(update: Update, context: BotContext) -> None:
    """Replies with every configured provider's state (✅ ⚠️ ❌), when it last worked, its recent
    success rate and typical duration, with this chat's models marked; operators (ADMIN_USER_IDS)
    also see each provider's last error."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    if refusal := no_arguments(tr, "providers", arguments(message, context.bot.username)):
        raise Rejected(refusal)
    chosen = await models.chat_models(runtime, message.chat_id)
    operator = user is not None and user.id in runtime.settings.admin_user_ids
    lines: list[str] = []
    for provider in runtime.registry.providers:
        health = runtime.health.of(provider.name)
        if health.last_error:
            last_error = recorded_error_text(tr, health, provider.label)
            health = dataclasses.replace(health, last_error=last_error)
        line = render.provider_line(
            tr,
            provider.label,
            health,
            [
                e.id
                for e in (chosen.image, chosen.vision, chosen.edit)
                if e and e.provider is provider
            ],
            runtime.health.clock(),
            show_error=operator,
        )
        if (until := runtime.health.budget_until(provider.name)) is not None:
            line += "\n   " + over_budget_note(tr, until)
        lines.append(line)
    await message.reply_text(render.providers_text(tr, lines))


def over_budget_note(tr: Translator, until: float) -> str:
    """Why a provider is skipped although it works: its daily budget is spent until ``until``."""
    when = time.strftime("%H:%M", time.gmtime(until))
    return tr.gettext("💸 spent its budget for today; skipped until {time} UTC").format(time=when)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler("providers", providers_command)]
