"""``python -m bot``: reads the settings and runs the bot with long polling or a webhook."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot import logs, memory

if TYPE_CHECKING:
    from telegram import User

    from bot.settings import BotSettings

log = logging.getLogger("bot")

SETTINGS_HELP = """\
settings:
  Read from the environment and from a .env file in the working directory (the
  environment wins). Only TELEGRAM_BOT_TOKEN is required; .env.example and the
  settings table in README.md list the others with their defaults.

exit status:
  0 a clean stop (Ctrl+C, SIGTERM), 2 something a restart cannot fix (a missing,
  malformed or rejected token, a bad setting, DATA_DIR in use), 1 anything else.
"""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m bot",
        usage="python -m bot [-h] [command]",
        description="A Telegram bot that draws pictures and answers questions about them.",
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", metavar="command", title="commands")
    commands.add_parser(
        "run",
        help="run the bot (the default): long polling, or a webhook server when WEBHOOK_URL is set",
    )
    commands.add_parser(
        "set-webhook",
        help="register WEBHOOK_URL and WEBHOOK_SECRET with Telegram, then exit",
    )
    commands.add_parser(
        "setup",
        help="ask for the bot token and one provider key, check both, write .env (mode 0600)",
    )
    migrate = commands.add_parser(
        "migrate-db",
        help="copy the state from one database to another (SQLite to PostgreSQL), then verify",
        description="Copies every table (stop the bot first); running it again copies only "
        "what is missing. Prints each table's rows on both sides.",
    )
    migrate.add_argument("--from", dest="source", required=True, help="sqlite:///path/bot.sqlite3")
    migrate.add_argument(
        "--to", dest="target", required=True, help="postgresql://user:pass@host/db"
    )
    commands.add_parser("help", help="show this help")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    logs.redact_uncaught()
    options = parser().parse_args(sys.argv[1:] if argv is None else argv)
    if options.command == "help":
        parser().print_help()
        return 0
    # The rest is imported once the command is known: --help works even if the bot cannot.
    if options.command == "migrate-db":
        from bot.storage.migrate import run_migrate

        return asyncio.run(run_migrate(options.source, options.target, sys.stdout, err=sys.stderr))
    if options.command == "setup":
        from bot.setup import setup

        return setup()
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        print(logs.redact(str(error)), file=sys.stderr)
        return 2
    logs.hide(settings.telegram_bot_token.get_secret_value())
    if options.command == "set-webhook":
        return set_webhook(settings)
    return run(settings)


def run(settings: BotSettings) -> int:
    from telegram import Update
    from telegram.error import InvalidToken, TelegramError

    from bot.app import build_application
    from bot.instance import AlreadyRunning, InstanceLock
    from bot.startup import TokenRejected, rejected
    from bot.storage.postgres import without_password
    from bot.storage.records import StorageError

    os.umask(0o077)  # the database, outbox and auth files are the owner's alone
    memory.return_large_buffers()
    lock = InstanceLock(settings.data_dir)
    try:
        if not settings.shared:  # with PostgreSQL, replicas share DATA_DIR on purpose
            lock.acquire()
        asyncio.run(check_storage(settings))
    except (AlreadyRunning, StorageError) as error:
        print(f"Cannot start the bot: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"Cannot start the bot: DATA_DIR {settings.data_dir}: {error}", file=sys.stderr)
        return 2
    logs.setup(
        settings.log_level,
        fmt=settings.log_format,
        replica=settings.replica_id if settings.shared else None,
    )
    where = settings.database()
    shown = without_password(where) if isinstance(where, str) else where
    log.info("starting the bot as replica %s (data in %s)", settings.replica_id, shown)
    try:
        if asyncio.run(reach_telegram(settings)) is None:
            log.info("stopped before Telegram could be reached")
            return 0
        app = build_application(settings)
        if settings.webhook_url:
            options = webhook_options(settings)
            log.info(
                "receiving updates by webhook at %s (listening on %s:%s)",
                settings.webhook_url,
                options["listen"],
                options["port"],
            )
            asyncio.run(serve_webhook(app, options))
        else:
            log.info("receiving updates by long polling from %s", settings.telegram_api_url)
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except (TokenRejected, InvalidToken):
        log.error("%s", rejected(settings.telegram_api_url))
        return 2
    except TelegramError as error:
        log.error("the bot stopped: Telegram: %s", error)
        return 1
    except Exception:
        log.critical("the bot stopped on an unexpected error", exc_info=True)
        return 1
    log.info("the bot stopped")
    return 0


async def serve_webhook(app: Any, options: dict[str, Any]) -> None:
    """Runs the webhook server until Ctrl+C or SIGTERM (then stops cleanly: with other
    replicas, this one's jobs are handed over)."""
    from bot.app import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(app, webhook=options):
        await stop.wait()
    log.info("stopping (signal received)")


async def reach_telegram(settings: BotSettings) -> User | None:
    """Waits until getMe answers (None: stopped by Ctrl+C or SIGTERM first)."""
    from bot.startup import wait_for_telegram

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        return await wait_for_telegram(
            settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url, stop
        )
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def set_webhook(settings: BotSettings) -> int:
    """``python -m bot set-webhook``: registers WEBHOOK_URL (for replicas that do not)."""
    if not settings.webhook_url or settings.webhook_secret is None:
        print("set-webhook needs WEBHOOK_URL and WEBHOOK_SECRET", file=sys.stderr)
        return 2
    from telegram import Update
    from telegram.error import TelegramError

    from bot.startup import TokenRejected, check_token, telegram_bot

    async def register() -> None:
        bot = telegram_bot(
            settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url
        )
        try:
            await check_token(bot, settings.telegram_api_url)
            options = webhook_options(settings)
            await bot.set_webhook(
                options["webhook_url"],
                secret_token=options["secret_token"],
                allowed_updates=Update.ALL_TYPES,
            )
        finally:
            await bot.shutdown()

    try:
        asyncio.run(register())
    except TokenRejected as error:
        print(error, file=sys.stderr)
        return 2
    except TelegramError as error:
        print(logs.redact(f"Telegram refused the webhook: {error}"), file=sys.stderr)
        return 1
    print(f"webhook set: {settings.webhook_url}")
    return 0


async def check_storage(settings: BotSettings) -> None:
    """Opens (creating or migrating) the database once, so a broken one stops the start with
    one line instead of a traceback inside the running application."""
    from bot.storage.database import Storage

    storage = await Storage.open(settings.database())
    await storage.close()


def webhook_options(settings: BotSettings) -> dict[str, Any]:
    """Arguments for ``run_webhook``/``start_webhook``: listen where configured, serve the path of
    WEBHOOK_URL, and make Telegram send WEBHOOK_SECRET with every update (others get 403)."""
    assert settings.webhook_url and settings.webhook_secret
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": urlsplit(settings.webhook_url).path.strip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret.get_secret_value(),
    }


if __name__ == "__main__":
    sys.exit(main())
