"""The seam between :class:`~bot.telegram.flood.FloodControl` and a flood budget that several
replicas of the bot share (one token, one budget: see :mod:`bot.telegram.shared_budget`).

Flood control keeps its own windows and its priority scheduler whatever the budget: they order
and pace this replica's calls. A shared budget is asked, call by call in that order, whether the
call may go now; it answers with a :class:`Grant` (the call holds a place until it is done) or a
:class:`Hold` (ask again later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

Shape = tuple[int, float, int]  # (calls, seconds, reserve) of a moving window


@dataclass(frozen=True, slots=True)
class Ask:
    """One counted call asking for a place, with the limits this replica runs at now (lower for
    a while after a 429)."""

    chat_id: int | None  # None: only the overall limit applies
    spare_only: bool  # the call must leave every window's reserve free
    overall: Shape
    chat: tuple[int, float, int] | None  # the chat's bucket: (burst, calls a second, reserve)
    group: Shape | None  # groups (and inline messages) only


@dataclass(frozen=True, slots=True)
class Hold:
    """No place now: ask again in ``seconds``. ``everything``: the overall window is full or
    everything is paused, so no call may go; else only this call's chat is held back."""

    seconds: float
    everything: bool


@dataclass(eq=False, slots=True)
class Grant:
    """A place taken in the shared windows; give it back with :meth:`SharedBudget.done`."""

    ask: Ask
    token: str


class SharedBudget(Protocol):
    """Telegram's flood budget for one token, shared by every replica that uses it."""

    async def start(self) -> None:
        """Connects (never fails: an unreachable budget is a local share until it is back)."""

    async def stop(self) -> None:
        """Stops the background work and closes the connection."""

    async def take(self, asks: Sequence[Ask]) -> list[Grant | Hold]:
        """A place for each call, in order (the most important first), or how long to wait."""
        ...

    def take_now(self, ask: Ask) -> Grant | None:
        """A place for a call that is useless late (a chat action), without waiting: counted,
        though perhaps not checked against other replicas' calls; None when it must not go."""
        ...

    def done(self, grant: Grant, answered: bool) -> None:
        """The call is over: counted from now (``answered``), or never sent (its place is free)."""

    async def pause(self, chat_id: int | None, seconds: float) -> None:
        """Telegram answered 429: holds back the chat (None: everything) for every replica."""
