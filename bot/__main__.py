"""``python -m bot``: reads the settings and runs the bot with long polling or a webhook."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from telegram import Update

from bot import logs
from bot.app import build_application
from bot.instance import AlreadyRunning, InstanceLock
from bot.settings import BotSettings, SettingsError, load_settings
from bot.storage.database import DB_NAME, Storage, StorageError

log = logging.getLogger("bot")


def main() -> int:
    os.umask(0o077)  # the database, outbox and auth files are the owner's alone
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Cannot start the bot:\n{error}", file=sys.stderr)
        return 2
    lock = InstanceLock(settings.data_dir)
    try:
        lock.acquire()
        asyncio.run(check_storage(settings))
    except (AlreadyRunning, StorageError) as error:
        print(f"Cannot start the bot: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"Cannot start the bot: DATA_DIR {settings.data_dir}: {error}", file=sys.stderr)
        return 2
    logs.setup(settings.log_level)
    log.info("starting the bot (data in %s)", settings.data_dir)
    app = build_application(settings)
    if settings.webhook_url:
        options = webhook_options(settings)
        log.info(
            "receiving updates by webhook at %s (listening on %s:%s)",
            settings.webhook_url,
            options["listen"],
            options["port"],
        )
        app.run_webhook(**options, allowed_updates=Update.ALL_TYPES)
    else:
        log.info("receiving updates by long polling from %s", settings.telegram_api_url)
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    log.info("the bot stopped")
    return 0


async def check_storage(settings: BotSettings) -> None:
    """Opens (creating or migrating) the database once, so a broken one stops the start with
    one line instead of a traceback inside the running application."""
    storage = await Storage.open(settings.data_dir / DB_NAME)
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
