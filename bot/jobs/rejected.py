"""What the services share: refusing a request politely."""

from __future__ import annotations


class Rejected(Exception):
    """The request cannot be accepted; ``str(error)`` is the reply for the user."""
