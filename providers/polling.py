"""Polling a job that keeps running upstream: a few transient errors in a row are waited out."""

from __future__ import annotations

from .errors import ProviderError, ProviderTimeout, ProviderUnavailable, RateLimited

TRANSIENT_ERRORS = (ProviderUnavailable, ProviderTimeout, RateLimited)
"""Failures of one status request that say nothing about the job itself."""

POLL_RETRIES = 3
"""Transient errors in a row a poll loop waits out before it gives up."""


class TransientFaults:
    """Counts transient errors in a row; :meth:`absorb` re-raises once there were too many."""

    def __init__(self, limit: int = POLL_RETRIES) -> None:
        self.limit = limit
        self.in_a_row = 0

    def absorb(self, error: ProviderError) -> None:
        """Returns when ``error`` is transient and within the limit; raises it otherwise."""
        self.in_a_row += 1
        if not isinstance(error, TRANSIENT_ERRORS) or self.in_a_row > self.limit:
            raise error

    def reset(self) -> None:
        """A status request succeeded."""
        self.in_a_row = 0
