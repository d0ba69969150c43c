"""The Telegram side: python-telegram-bot handlers that call the services around ``providers``."""

import os

# Opt in to python-telegram-bot's future behaviour (durations as timedelta) instead of a
# deprecation warning on every flood-control error; bot.ratelimit reads either form.
os.environ.setdefault("PTB_TIMEDELTA", "1")
