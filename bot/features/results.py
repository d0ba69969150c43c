"""The buttons under results: 🔄 again, 🎲 variations, 📎 original, 🔎 describe, 🖌 edit."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.i18n import N_
from bot.jobs import results
from bot.jobs.describe import DESCRIBING
from bot.jobs.rejected import Rejected
from bot.jobs.result_buttons import AGAIN, DESCRIBE, EDIT, ORIGINAL, Press
from bot.runtime import BotContext
from bot.runtime.languages import texts_for

STARTED = {
    AGAIN: N_("🔄 Drawing it again…"),
    DESCRIBE: DESCRIBING,
    ORIGINAL: N_("📎 Sending the original…"),
}
VARIATIONS_STARTED = N_("🎲 Drawing variations…")


async def pressed(update: Update, context: BotContext) -> None:
    """Does what the button says, or shows an alert saying why it cannot."""
    query = update.callback_query
    if query is None:
        return
    runtime, bot = context.runtime, context.bot
    tr = await texts_for(runtime, update)
    press = Press.unpack(query.data)
    if press is None:
        raise Rejected(tr.gettext(results.STALE))
    row, message = await results.pressed_job(runtime, bot, query, press.job_id, tr)
    if press.action == ORIGINAL:
        files = await results.originals(runtime, row, tr)
        await query.answer(tr.gettext(STARTED[ORIGINAL]))
        await results.send_originals(bot, files, message)
        return
    if press.action == EDIT:
        await results.edit_picture(runtime, bot, row, message, press.index, tr)
        await query.answer()
        return
    if press.action == DESCRIBE:
        await results.describe_picture(runtime, bot, row, message, press.index, query.from_user, tr)
    else:
        await results.draw_again(runtime, bot, row, message, query.from_user, press.action, tr)
    await query.answer(tr.gettext(STARTED.get(press.action, VARIATIONS_STARTED)))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CallbackQueryHandler(pressed, pattern=Press.pattern())]
