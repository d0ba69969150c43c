"""What tests inject before a method runs: failures, slow calls, holds; and the flood check."""

from __future__ import annotations

import asyncio
from collections import deque

from tests.fakes.telegram.core import EmulatorCore
from tests.fakes.telegram.errors import BLOCKED, ApiError
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import _Failure, _Hold

# What fail_next answers when the test gives no description.
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class Faults(EmulatorCore):
    """Injected failures, slow calls and holds, and flood control, checked before a method runs."""

    async def _held(self, name: str) -> None:
        hold = self._holds.get(name)
        if hold is None:
            return
        hold.waiting += 1
        self._notify()
        try:
            while not hold.released.is_set() and not self._closing:
                change = self._change
                await change.wait()
        finally:
            hold.waiting -= 1
        if hold.drop or self._closing:
            raise ApiError("Internal Server Error: the call was dropped", 500)

    async def _injected_failure(self, name: str) -> None:
        queue = self._failures.get(name)
        if not queue and name != "getupdates":
            queue = self._failures.get("*")
        if not queue:
            return
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.popleft()
        if failure.delay:
            await asyncio.sleep(failure.delay)
            return
        raise ApiError(
            failure.description,
            failure.error_code,
            retry_after=failure.retry_after,
            migrate_to_chat_id=failure.migrate_to_chat_id,
        )

    def _check_flood(self, params: Params) -> None:
        chat_id: int | None
        try:
            chat_id = params.integer("chat_id")
        except ApiError:
            chat_id = None
        inline = self._inline_messages.get(params.string("inline_message_id") or "")
        if chat_id is None and inline is not None:
            chat_id = inline.chat_id  # an inline message's edits count in its chat
        chat = self._chats.get(chat_id) if chat_id is not None else None
        private = chat.type == "private" if chat else (chat_id or 0) > 0
        self._flood.policy = self.flood_policy
        wait = self._flood.admit(chat_id, private, self.clock())
        if wait is not None:
            raise ApiError(f"Too Many Requests: retry after {wait}", 429, retry_after=wait)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with this error, then it works again.

        ``migrate_to_chat_id`` adds that parameter (a group upgraded to a supergroup).

        A 429 gets ``retry_after`` (default 1) and the description "Too Many Requests: retry
        after N". ``method="*"`` matches any method except getUpdates. Failures queue up.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        failure = _Failure(
            error_code, description, retry_after, times, migrate_to_chat_id=migrate_to_chat_id
        )
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def clear_failures(self) -> None:
        """Forgets every queued failure (an outage ends)."""
        self._failures.clear()

    def slow_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take ``seconds`` longer, then succeed."""
        failure = _Failure(200, "", None, times, delay=seconds)
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def hold(self, method: str) -> None:
        """Calls of ``method`` wait (unanswered) until :meth:`release`; see :meth:`held`."""
        self._holds[method.lower()] = _Hold()

    def held(self, method: str) -> int:
        """How many calls of ``method`` are waiting in a hold now."""
        hold = self._holds.get(method.lower())
        return hold.waiting if hold else 0

    def release(self, method: str, *, drop: bool = False) -> None:
        """Lets held calls of ``method`` go on; with ``drop`` they fail with 500 and change
        nothing (as if the request never reached Telegram). Later calls are not held."""
        hold = self._holds.pop(method.lower(), None)
        if hold is not None:
            hold.drop = drop
            hold.released.set()
            self._notify()
