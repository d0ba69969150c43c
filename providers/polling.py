"""Following a job an upstream queued for us: the poll loop, and cancelling it when we give up.

Every polling provider waits out a few transient failures in a row (:class:`TransientFaults`),
since the job itself keeps running upstream. fal and Replicate also share :func:`poll`, which
asks for a job's state until the caller has what it needs, and :func:`cancel_quietly`, which
tells the upstream to stop a job we no longer want without letting that last request delay or
break anything else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from .errors import ProviderError, ProviderTimeout, ProviderUnavailable, RateLimited

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (ProviderUnavailable, ProviderTimeout, RateLimited)
"""Poll failures worth waiting out: the job itself keeps running upstream meanwhile."""

POLL_RETRIES = 2
"""Transient poll failures tolerated in a row; the next one is raised."""

CANCEL_TIMEOUT = 5.0
"""Seconds a cancel request may take before we stop waiting for it."""

MAX_RETRY_AFTER = 30.0
"""The longest a 429's Retry-After may stretch one pause between polls."""

_background: set[asyncio.Task[None]] = set()


async def poll(
    fetch: Callable[[], Awaitable[Any]], interval: float, *, wait_first: bool = False
) -> AsyncGenerator[Any, None]:
    """Yields ``fetch()``'s answers, ``interval`` seconds apart, until the caller stops.

    The first poll happens at once unless ``wait_first``. Up to :data:`POLL_RETRIES` transient
    errors in a row (5xx, 429, network, timeout) are waited out, a 429 for as long as its
    Retry-After asks (at most :data:`MAX_RETRY_AFTER`); the next one is raised. Other errors
    are raised at once. There is no attempt limit: the caller's job deadline ends a poll that
    never finishes.
    """
    faults = TransientFaults()
    pause = interval if wait_first else 0.0
    while True:
        if pause:
            await asyncio.sleep(pause)
        pause = interval
        try:
            answer = await fetch()
        except ProviderError as error:
            faults.absorb(error)
            if isinstance(error, RateLimited) and error.retry_after:
                pause = max(interval, min(error.retry_after, MAX_RETRY_AFTER))
            continue
        faults.reset()
        yield answer


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


async def cancel_quietly(cancel: Callable[[], Awaitable[object]], provider: str) -> None:
    """Runs ``cancel()`` (a request asking the upstream to drop a job), shielded from the
    cancellation that is usually under way, for at most :data:`CANCEL_TIMEOUT` seconds.

    Never raises: a failure is logged, since the job is being abandoned anyway. If the caller
    is cancelled again while waiting, the request still finishes in the background.
    """

    async def attempt() -> None:
        try:
            async with asyncio.timeout(CANCEL_TIMEOUT):
                await cancel()
        except (ProviderError, TimeoutError) as error:
            log.warning("%s: cancelling the upstream job failed: %s", provider, error)

    task = asyncio.ensure_future(attempt())
    _background.add(task)
    task.add_done_callback(_background.discard)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        log.info("%s: left the upstream cancel running in the background", provider)
        raise


def same_origin(url: str, root: str) -> bool:
    """Whether ``url`` is on the scheme, host and port of ``root``: the only place our key
    may be sent when an upstream hands us addresses to follow."""
    a, b = urlsplit(url), urlsplit(root)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port) and bool(a.hostname)
