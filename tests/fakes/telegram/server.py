"""BotApiEmulator: the aiohttp routes and dispatch, and the test-side API to observe and wait."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl

import telegram
from aiohttp import web

from tests.fakes.telegram.chats import Chats
from tests.fakes.telegram.errors import ApiError
from tests.fakes.telegram.faults import Faults
from tests.fakes.telegram.inline import Inline
from tests.fakes.telegram.messages import Messages
from tests.fakes.telegram.params import Params, _decode_value, _parse_multipart
from tests.fakes.telegram.payments import Payments
from tests.fakes.telegram.profile import Profile
from tests.fakes.telegram.records import ANYWHERE, Anywhere, Call, Draft, StoredMessage
from tests.fakes.telegram.webhook import Webhooks

T = TypeVar("T")


class BotApiEmulator(Inline, Payments, Messages, Webhooks, Chats, Profile, Faults):
    """Telegram's Bot API on 127.0.0.1 for one bot. See the package docstring for an overview."""

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/bot{token}/{method}", self._handle_method),
            web.get("/file/bot{token}/{path:.+}", self._handle_file),
        ]

    async def start(self) -> str:
        self._closing = False
        self._started_at = time.monotonic()
        url = await super().start()
        self._start_pushing()  # a webhook set before a restart is served again
        return url

    async def stop(self) -> None:
        """Wakes every waiting long poll (they answer an empty list), cancels webhook
        deliveries in flight (their updates stay pending), then stops."""
        self._closing = True
        self._notify()
        await self._stop_pushing()
        if self._session is not None:
            await self._session.close()
            self._session = None
        await super().stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``telegram.Bot(base_url=...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def make_bot(self, **kwargs: Any) -> telegram.Bot:
        """A ``telegram.Bot`` pointed at the emulator (use ``async with``)."""
        return telegram.Bot(
            self.token, base_url=self.base_url, base_file_url=self.base_file_url, **kwargs
        )

    @staticmethod
    def _envelope(
        error_code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        if migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": migrate_to_chat_id}
        return web.json_response(body, status=error_code)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, Any] = {}
        body = await request.read()
        ctype = request.headers.get("Content-Type", "")
        if body and ctype.startswith("multipart/form-data"):
            fields, files = _parse_multipart(body, ctype)
            values.update(fields)
        elif body and ctype.startswith("application/json"):
            try:
                data = json.loads(body)
            except ValueError:
                raise ApiError("Bad Request: can't parse JSON encoded request") from None
            if not isinstance(data, dict):
                raise ApiError("Bad Request: can't parse JSON encoded request")
            values.update(data)
        elif body:
            values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return values, files

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self.unauthorized_requests += 1
            return self._envelope(401, "Unauthorized")
        call = Call(method, {}, {}, time.monotonic())
        self._calls.append(call)
        try:
            values, files = await self._read_params(request)
            call.params = {k: _decode_value(k, v) for k, v in values.items()}
            call.files = files
            result = await self._dispatch(method, Params(call.params, files))
        except ApiError as exc:
            call.status, call.error = exc.error_code, exc.description
            call.retry_after = exc.retry_after
            if exc.error_code == 429:
                self.too_many_requests_sent += 1
            response = self._envelope(
                exc.error_code, exc.description, exc.retry_after, exc.migrate_to_chat_id
            )
        except Exception as exc:  # a bug in the emulator: make it loud in the call log
            self.errors.append(exc)
            call.status, call.error = 500, f"emulator bug: {exc!r}"
            response = self._envelope(500, call.error)
        else:
            call.status, call.ok, call.result = 200, True, result
            response = web.json_response({"ok": True, "result": result})
        self._notify()
        return response

    async def _dispatch(self, method: str, params: Params) -> Any:
        name = method.lower()
        handler = self._handlers.get(name)
        if handler is None:
            raise ApiError("Not Found", 404)
        await self._held(name)
        await self._injected_failure(name)
        if self.flood_limits and self.flood_policy.counts(name):
            self._check_flood(params)
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    def calls(self, method: str | None = None, *, chat_id: int | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally of one method (case-insensitive) and chat."""
        return [
            c
            for c in self._calls
            if (method is None or c.method.lower() == method.lower())
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def messages(
        self,
        chat_id: int,
        *,
        include_deleted: bool = True,
        topic: int | Anywhere | None = ANYWHERE,
    ) -> list[StoredMessage]:
        """Every message in the chat (users' and the bot's), by message id; with ``topic``
        only those in that forum topic (None: General)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            m
            for m in chat.messages.values()
            if (include_deleted or not m.deleted) and (topic is ANYWHERE or m.topic == topic)
        ]

    def drafts_in(self, chat_id: int, draft_id: int | None = None) -> list[Draft]:
        """The draft updates the chat was shown (of one draft, if given), oldest first."""
        return [
            d
            for d in self.drafts
            if d.chat_id == chat_id and (draft_id is None or d.draft_id == draft_id)
        ]

    def bot_messages(
        self,
        chat_id: int,
        *,
        include_deleted: bool = True,
        topic: int | Anywhere | None = ANYWHERE,
    ) -> list[StoredMessage]:
        """What the bot sent to the chat, oldest first; ``deleted`` marks what is gone. With
        ``topic``, only what it sent to that forum topic (None: General)."""
        return [
            m
            for m in self.messages(chat_id, include_deleted=include_deleted, topic=topic)
            if m.from_bot
        ]

    def topics(self, chat_id: int) -> dict[int, str]:
        """The forum's topics: message_thread_id -> name."""
        chat = self._chats.get(chat_id)
        return {t: info["name"] for t, info in chat.topics.items()} if chat else {}

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        return self._chats[chat_id].messages[message_id]

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 10.0,  # noqa: ASYNC109 (a deadline with a report is the point)
    ) -> T:
        """Returns the predicate's first truthy value; raises AssertionError with a dump of the
        recent calls and messages if ``timeout`` passes first.

        The predicate is re-checked each time the emulator finishes a call or a webhook
        delivery, or a test injects something, never on a timer. State outside the emulator
        (the bot's database, say) is therefore only seen at the bot's next call; a polling bot
        makes one at least every getUpdates timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self.report(f"condition not met within {timeout}s"))
            change = self._change
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(change.wait(), remaining)

    async def webhook_idle(
        self,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Returns once the webhook acknowledged every update (none pending, none in flight);
        raises AssertionError with the report if ``timeout`` passes first."""
        await self.wait_for(lambda: not self._updates and not self._webhook_in_flight, timeout)

    async def wait_for_call(
        self,
        method: str,
        where: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
        finished: bool = True,
    ) -> Call:
        """The first recorded call of ``method`` (matching ``where``), waiting if needed."""

        def find() -> Call | None:
            return next(
                (
                    c
                    for c in self.calls(method)
                    if (not finished or c.status) and (where is None or where(c))
                ),
                None,
            )

        return await self.wait_for(find, timeout)

    async def wait_for_bot_message(
        self,
        chat_id: int,
        where: Callable[[StoredMessage], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> StoredMessage:
        """The first message the bot sent to the chat (matching ``where``), waiting if needed."""

        def find() -> StoredMessage | None:
            return next((m for m in self.bot_messages(chat_id) if where is None or where(m)), None)

        return await self.wait_for(find, timeout)

    def report(self, headline: str = "emulator state", last: int = 30) -> str:
        """A readable dump: recent calls, pending updates and what the bot left in each chat."""
        lines = [f"{headline}; {len(self._calls)} calls, last {min(last, len(self._calls))}:"]
        lines += [f"  {c.summary(self._started_at)}" for c in self._calls[-last:]]
        lines.append(f"pending updates: {len(self._updates)}")
        if self._webhook is not None:
            lines.append(
                f"webhook {self._webhook.url} -> {self._route(self._webhook.url)}: "
                f"in flight {sorted(self._webhook_in_flight)}, last error {self.webhook_last_error}"
            )
            lines += [f"  {d!r}" for d in self.webhook_deliveries[-10:]]
        for chat_id, chat in self._chats.items():
            lines.append(f"chat {chat_id} ({chat.type}):")
            lines += [f"  {m!r}" for m in list(chat.messages.values())[-10:]]
        return "\n".join(lines)
