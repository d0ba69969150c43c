"""The Telegram side: python-telegram-bot handlers that call the services around ``providers``."""
