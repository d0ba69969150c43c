"""Builds the Application (one place, used by ``python -m bot`` and the end-to-end tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
from bot.jobs.takeover import ALIVE_SECONDS, Takeover
from bot.runtime import AnyApp, BotContext, Runtime, attach, attached, check_defaults, detach
from bot.runtime.languages import texts_for
from bot.settings import BotSettings
from bot.startup import api_roots
from bot.storage.records import StorageError, StorageFull
from bot.storage.replicas import UpdateVerdict
from bot.telegram.commands import menu
from bot.telegram.flood import FloodControl
from bot.telegram.shared_budget import RedisBudget
from bot.telegram.webhook import WebhookServer
from providers import Kind

log = logging.getLogger(__name__)

SOMETHING_WRONG = N_("Something went wrong on my side. Please try again.")

TAKEOVER_KEY = "takeover"
BUDGET_KEY = "flood_budget"
HEALTH_TIMEOUT = 2.0  # seconds /healthz waits for the database


def build_application(settings: BotSettings) -> AnyApp:
    """The configured Application: flood control, handlers, and start/stop hooks."""
    base_url, base_file_url = api_roots(settings.telegram_api_url)
    token = settings.telegram_bot_token.get_secret_value()
    budget = None
    if settings.redis_url is not None:
        budget = RedisBudget(
            settings.redis_url.get_secret_value(),
            token.split(":", 1)[0],
            replicas_alive=lambda: replicas_alive(app),
        )
    app = (
        ApplicationBuilder()
        .context_types(ContextTypes(context=BotContext))
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .rate_limiter(FloodControl(budget=budget))
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
    app.bot_data[BUDGET_KEY] = budget
    return app


async def replicas_alive(app: AnyApp) -> int:
    """How many replicas share the token now (1 before the start or without a database)."""
    takeover = app.bot_data.get(TAKEOVER_KEY)
    return await takeover.replicas_alive() if isinstance(takeover, Takeover) else 1


async def on_start(app: AnyApp, settings: BotSettings) -> None:
    """Opens the runtime, tells clients the command menu, and takes up what a crash or a
    restart left unfinished (see bot.jobs.recovery); with a shared database, starts beating
    with the other replicas (bot.jobs.takeover)."""
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
    if settings.shared:
        takeover = Takeover(runtime, app.bot)
        app.bot_data[TAKEOVER_KEY] = takeover
        await takeover.beat()
        takeover.start()
        log.info("replica %s shares the database %s", runtime.replica, runtime.storage.backend.name)
    log.info("bot @%s started; send it /start in Telegram", app.bot.username)


async def on_stop(app: AnyApp) -> None:
    """Lets running jobs finish for SHUTDOWN_GRACE seconds; the rest stay stored, say so, and
    are taken up again at the next start. With other replicas, hands them over at once."""
    runtime = attached(app)
    if runtime is None:
        return
    runtime.providers.stopping = True  # upstream jobs keep running: followed at the start
    takeover = app.bot_data.pop(TAKEOVER_KEY, None)
    if not isinstance(takeover, Takeover):
        await runtime.jobs.shutdown(RESTARTING, runtime.settings.shutdown_grace)
        return
    # Other replicas are running: hand the jobs over at once instead of finishing them here.
    await runtime.jobs.shutdown(RESTARTING)
    try:
        await takeover.stop()
    except StorageError as error:  # the leases run out by themselves
        log.warning("replica %s could not hand its jobs over: %s", runtime.replica, error)


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
    server = None
    if webhook is None:
        await app.updater.start_polling(
            timeout=poll_timeout, poll_interval=0, allowed_updates=Update.ALL_TYPES
        )
    else:
        server = webhook_server(app, webhook)
        await server.start()
        await app.bot.set_webhook(
            webhook["webhook_url"],
            secret_token=webhook["secret_token"],
            allowed_updates=Update.ALL_TYPES,
        )
    await app.start()
    try:
        yield app
    finally:
        if server is not None:
            await server.stop()
        if app.updater.running:
            await app.updater.stop()
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


def webhook_server(app: AnyApp, options: Mapping[str, Any]) -> WebhookServer:
    """This replica's web server (see bot.telegram.webhook): updates taken once through the
    database, handled before they are answered, and /healthz."""

    def runtime() -> Runtime:
        found = attached(app)
        if found is None:
            raise RuntimeError("the bot is not started")
        return found

    async def take(update_id: int) -> UpdateVerdict:
        now = time.time()
        return await runtime().storage.take_update(
            update_id, runtime().replica, now=now, alive=now - ALIVE_SECONDS
        )

    async def handle(data: dict[str, Any]) -> None:
        await app.process_update(Update.de_json(data, app.bot))

    async def finished(update_id: int) -> None:
        await runtime().storage.update_done(update_id)

    async def checks() -> tuple[bool, dict[str, bool]]:
        found = await health(app)
        return found["database"], found

    return WebhookServer(
        listen=options["listen"],
        port=options["port"],
        path=options["url_path"],
        secret=options["secret_token"],
        take=take,
        handle=handle,
        finished=finished,
        checks=checks,
    )


async def health(app: AnyApp) -> dict[str, bool]:
    """What /healthz reports: whether the database answers (without it the replica cannot
    serve: 503) and, when the budget is shared, Redis (reported only: without it every replica
    keeps to its share of the budget, so the load balancer must not drop them all)."""
    result = {"database": False}
    runtime = attached(app)
    if runtime is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                runtime.storage.backend.read(lambda db: db.fetchrow("SELECT 1")), HEALTH_TIMEOUT
            )
            result["database"] = True
    budget = app.bot_data.get(BUDGET_KEY)
    if isinstance(budget, RedisBudget):
        result["redis"] = budget.shared
    return result
