"""Refusing a request politely: nothing stored, nothing started, the user told why."""

from __future__ import annotations


class Rejected(Exception):
    """The request cannot be accepted; ``str(error)`` is the reply for the user (in their
    language). A handler lets it propagate: bot.app's error handler answers it, as an alert
    under a pressed button or as a reply to the message."""
