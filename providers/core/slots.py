"""How many jobs one provider runs at once: a free Space takes a few, a paid API many."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

SPACE_SLOTS = 4
"""Jobs at once for a Gradio Space (a shared GPU queue): more only wait in its queue."""
API_SLOTS = 128
"""Jobs at once for an HTTP API."""


class Slots:
    """At most ``limit`` jobs at once; the others wait in arrival order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # One semaphore per event loop: asyncio primitives must not cross loops.
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.limit)
        return gate

    @property
    def full(self) -> bool:
        """Whether a new job would have to wait."""
        return self._gate().locked()

    @contextlib.asynccontextmanager
    async def taken(self) -> AsyncIterator[None]:
        """Holds one slot for the block (waiting for one first, if all are taken)."""
        async with self._gate():
            yield
