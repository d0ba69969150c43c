"""Loopback servers that speak the real protocols of Telegram's Bot API and the four upstreams."""
