"""``python -m bot``: reads the settings and runs the bot with long polling or a webhook."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlsplit

from telegram import Update

from . import logs
from .app import build_application
from .settings import BotSettings, SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Cannot start the bot:\n{error}", file=sys.stderr)
        return 2
    logs.setup(settings.log_level)
    app = build_application(settings)
    if settings.webhook_url:
        app.run_webhook(**webhook_options(settings), allowed_updates=Update.ALL_TYPES)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


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
