"""/providers: which providers work right now, how well, and which models this chat uses."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes

from .. import render
from ..runtime import runtime_of
from ..services import models
from ..services.language import texts_for


async def providers_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Replies with every configured provider's state (✅ ⚠️ ❌), when it last worked, its recent
    success rate and typical duration, with this chat's models marked; operators (ADMIN_USER_IDS)
    also see each provider's last error."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return
    runtime = runtime_of(context)
    tr = await texts_for(runtime, update)
    chosen = await models.chat_models(runtime, message.chat_id)
    operator = user is not None and user.id in runtime.settings.admin_user_ids
    lines = [
        render.provider_line(
            tr,
            provider.label,
            runtime.health.of(provider.name),
            [e.id for e in (chosen.image, chosen.vision) if e.provider is provider],
            runtime.health.clock(),
            show_error=operator,
        )
        for provider in runtime.registry.providers
    ]
    await message.reply_text(render.providers_text(tr, lines))


def handlers() -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
    return [CommandHandler("providers", providers_command)]
