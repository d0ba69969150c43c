"""Builds the Application (one place, used by ``python -m bot`` and the end-to-end tests)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, Defaults

from bot.features import (
    access,
    ask,
    cancel,
    chats,
    credits,
    describe,
    edit,
    ignored,
    imagine,
    inline,
    language,
    model,
    private_chats,
    providers,
    results,
    start,
    stats,
)
from bot.features import settings as chat_settings
from bot.i18n import N_, Translator, from_telegram, translator
from bot.jobs.flags import FlagError
from bot.jobs.life import DISK_FULL, RESTARTING
from bot.jobs.recovery import recover
from bot.jobs.rejected import Rejected
from bot.runtime import AnyApp, BotContext, Runtime, attach, attached, check_defaults, detach
from bot.runtime.languages import texts_for
from bot.settings import BotSettings
from bot.startup import api_roots
from bot.storage.records import StorageError, StorageFull
from bot.telegram.commands import menu
from bot.telegram.flood import FloodControl
from providers import Kind

log = logging.getLogger(__name__)

SOMETHING_WRONG = N_("Something went wrong on my side. Please try again.")


def build_application(settings: BotSettings) -> AnyApp:
    """The configured Application: flood control, handlers, and start/stop hooks."""
    base_url, base_file_url = api_roots(settings.telegram_api_url)
    app = (
        ApplicationBuilder()
        .context_types(ContextTypes(context=BotContext))
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(base_url)
        .base_file_url(base_file_url)
        .rate_limiter(FloodControl())
        # Replies quote the command in private chats too, and still arrive if it was deleted.
        .defaults(Defaults(do_quote=True, allow_sending_without_reply=True))
        .concurrent_updates(True)
        .media_write_timeout(60)
        .post_init(lambda app: on_start(app, settings))
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .build()
    )
    app.add_handler(ignored.handler(), group=-2)
    app.add_handler(access.handler(), group=-1)
    for feature in (
        chats,
        start,
        edit,
        imagine,
        model,
        chat_settings,
        language,
        ask,
        describe,
        results,
        cancel,
        providers,
        stats,
        credits,
        inline,
        private_chats,
    ):
        app.add_handlers(feature.handlers())
    app.add_handler(CallbackQueryHandler(stale_button))
    app.add_error_handler(on_error)
    return app


async def on_start(app: AnyApp, settings: BotSettings) -> None:
    """Opens the runtime, tells clients the command menu, and takes up what a crash or a
    restart left unfinished (see bot.recovery)."""
    runtime = await Runtime.open(settings)
    attach(app, runtime)
    edit = runtime.defaults.get(Kind.EDIT)
    log.info(
        "providers: %s; default image model %s, vision model %s, edit model %s",
        ", ".join(p.label for p in runtime.registry.providers) or "none",
        runtime.defaults[Kind.IMAGE].id,
        runtime.defaults[Kind.VISION].id,
        edit.id if edit else "none (no provider edits pictures)",
    )
    if settings.check_defaults:  # in the background: the start is not delayed
        runtime.jobs.later(0, lambda: check_defaults(runtime))
    try:
        credits = runtime.credits.enabled
        await app.bot.set_my_commands(menu("en", credits=credits))
        await app.bot.set_my_commands(menu("ru", credits=credits), language_code="ru")
    except TelegramError as error:
        log.warning("could not set the command menu: %s", error)
    inline.announce(app.bot)
    await recover(runtime, app.bot)
    log.info("bot @%s started; send it /start in Telegram", app.bot.username)


async def on_stop(app: AnyApp) -> None:
    """Lets running jobs finish for SHUTDOWN_GRACE seconds; the rest stay stored, say so, and
    are taken up again at the next start."""
    runtime = attached(app)
    if runtime is not None:
        runtime.providers.stopping = True  # upstream jobs keep running: followed at the start
        await runtime.jobs.shutdown(RESTARTING, runtime.settings.shutdown_grace)


async def on_shutdown(app: AnyApp) -> None:
    runtime = detach(app)
    if runtime is not None:
        await runtime.close()


async def stale_button(update: Update, context: BotContext) -> None:
    """Any button the bot does not know (old or forged): a polite note, nothing changes."""
    if update.callback_query is not None:
        tr = await texts_for(context.runtime, update)
        await update.callback_query.answer(tr.gettext(model.STALE), show_alert=True)


async def on_error(update: object, context: BotContext) -> None:
    """Every handler's errors end here. A refusal (Rejected, or a flag the user got wrong) is
    the answer: an alert under a pressed button, else a reply. Anything else is logged, and
    the author of the message is told something went wrong."""
    if isinstance(update, Update) and isinstance(context.error, Rejected | FlagError):
        with contextlib.suppress(TelegramError):
            await refuse(update, str(context.error))
        return
    if isinstance(context.error, StorageFull):  # the operator was told once (bot.storage.full)
        log.debug("update not served: %s", context.error)
        if isinstance(update, Update):
            tr = await _texts(update, context)
            with contextlib.suppress(TelegramError):
                await refuse(update, tr.gettext(DISK_FULL))
        return
    log.error("update failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        user = update.effective_user
        tr = translator(from_telegram(user.language_code if user else None))
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(tr.gettext(SOMETHING_WRONG))


async def _texts(update: Update, context: BotContext) -> Translator:
    """The user's language for an answer when the chat's choice may not be readable."""
    try:
        return await texts_for(context.runtime, update)
    except StorageError:
        user = update.effective_user
        return translator(from_telegram(user.language_code if user else None))


async def refuse(update: Update, text: str) -> None:
    """Tells the user why their request changes nothing."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


@asynccontextmanager
async def running(
    app: AnyApp, *, poll_timeout: int = 10, webhook: Mapping[str, Any] | None = None
) -> AsyncIterator[AnyApp]:
    """Runs ``app`` inside the block with the same hooks as ``run_polling``/``run_webhook``:
    long polling, or the webhook server when ``webhook`` holds ``start_webhook`` arguments."""
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    assert app.updater is not None
    if webhook is None:
        await app.updater.start_polling(
            timeout=poll_timeout, poll_interval=0, allowed_updates=Update.ALL_TYPES
        )
    else:
        await app.updater.start_webhook(**webhook)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
