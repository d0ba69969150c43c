"""/describe (a reply to a photo, or a photo's caption) and the 🎨 button under its answer."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
)

from bot.i18n import N_
from bot.jobs import describe as service
from bot.jobs import imagine, results
from bot.jobs.flags import ImagineArgs
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext
from bot.runtime.languages import texts_for
from bot.telegram.commands import CaptionCommand

DRAW_NOTE = results.PressNote(N_("🎨 {name} asked to draw: {prompt}"), N_("🎨 Drawing: {prompt}"))
DRAWING = N_("🎨 Drawing it…")


async def describe(update: Update, context: BotContext) -> None:
    """Writes a prompt for the photo, or says how to ask for one."""
    message = update.effective_message
    if message is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    await service.submit(runtime, context.bot, message, tr)


async def draw_it(update: Update, context: BotContext) -> None:
    """🎨 draws the written prompt with the chat's model and settings."""
    query = update.callback_query
    if query is None:
        return
    runtime, bot = context.runtime, context.bot
    tr = await texts_for(runtime, update)
    press = service.DrawIt.unpack(query.data)
    if press is None:
        raise Rejected(tr.gettext(results.STALE))
    row, message = await results.pressed_job(runtime, bot, query, press.job_id, tr, (service.KIND,))
    prompt = str((row.result or {}).get("prompt") or "")
    if not prompt:
        raise Rejected(tr.gettext(results.STALE))
    built = await imagine.build_request(runtime, row.chat_id, ImagineArgs(prompt), tr)
    await results.draw_for(runtime, bot, message, query.from_user, built, DRAW_NOTE, tr)
    await query.answer(tr.gettext(DRAWING))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("describe", describe),
        MessageHandler(CaptionCommand("describe"), describe),
        CallbackQueryHandler(draw_it, pattern=service.DrawIt.pattern()),
    ]
