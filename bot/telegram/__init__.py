"""Telegram I/O and presentation: flood control, sending with retries, delivery (photo, album),
the live status message, drafts, previews, command parsing, markdown, the texts users read."""
