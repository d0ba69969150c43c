"""Webhooks: setWebhook, deleteWebhook, getWebhookInfo, and pushing updates to the webhook.

Delivery follows Telegram's servers (telegram-bot-api's WebhookActor):
    * one update per POST, its JSON as the body (``Content-Type: application/json``), with
      ``X-Telegram-Bot-Api-Secret-Token`` when the webhook has a secret token;
    * in update_id order, but only one update at a time per queue: a chat's updates (messages,
      member changes) wait for the one before them, a user's queries likewise (callback
      queries, inline queries, checkouts); different queues go in parallel, at most
      ``max_connections`` (default 40) requests in flight;
    * an update is delivered once the webhook answers 2xx. Any other status, a refused or
      broken connection, or no answer within ``webhook_timeout`` is an error: the update goes
      again, the first time at once, then after ``webhook_retry_delay`` doubling up to
      ``webhook_max_retry_delay`` (or after the answer's ``Retry-After``); getWebhookInfo
      reports the last error. So the same update may reach the bot twice.

The registered URL must be Telegram's kind (https, port 443, 80, 88 or 8443) and the emulator
cannot reach a public host: ``route_webhook(to="http://127.0.0.1:PORT")`` sends its requests
there (the path and query are kept), as DNS pointing the name at a load balancer would. An
unrouted host fails like a name that does not resolve, and is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from tests.fakes.telegram.errors import ApiError
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import WebhookDelivery, _Redelivery, _Webhook
from tests.fakes.telegram.updates import Updates

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_MAX_CONNECTIONS = 40
MAX_CONNECTIONS = 100
WEBHOOK_PORTS = (443, 80, 88, 8443)
MAX_RETRY_AFTER = 3600
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]*")
SECRET_TOKEN_LIMIT = 256
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

HTTPS_REQUIRED = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
BAD_PORT = "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
BAD_URL = "Bad Request: can't parse URL"
SECRET_UNALLOWED = "Bad Request: secret token contains unallowed characters"
SECRET_TOO_LONG = "Bad Request: secret token is too long"

# What getWebhookInfo's last_error_message says, as Telegram words it.
RESOLVE_FAILED = "Failed to resolve host: Name or service not known"
CONNECTION_REFUSED = "Connection refused"
READ_TIMEOUT = "Read timeout expired"
CONNECTION_CLOSED = "Webhook connection closed"
STOPPED = "the emulator stopped"  # a delivery cut short by stop(), not a Telegram text

# Updates about a chat queue by chat; the rest (queries, polls...) by the user who made them.
_SENDER_FIELDS = ("from", "user", "voter_chat")


def _queue(update: dict[str, Any]) -> tuple[str, int]:
    """The queue an update waits in: its chat's, else its sender's for its kind, else its own."""
    kind = next((k for k in update if k != "update_id"), "")
    payload = update.get(kind)
    if isinstance(payload, dict):
        chat = payload.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return "chat", chat["id"]
        for name in _SENDER_FIELDS:
            sender = payload.get(name)
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                return kind, sender["id"]
    return "update", int(update["update_id"])


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ApiError(BAD_URL) from None
    if parts.scheme.lower() != "https":
        raise ApiError(HTTPS_REQUIRED)
    if not parts.hostname:
        raise ApiError(BAD_URL)
    if port is not None and port not in WEBHOOK_PORTS:
        raise ApiError(BAD_PORT)


def _check_secret(secret: str) -> None:
    if len(secret) > SECRET_TOKEN_LIMIT:
        raise ApiError(SECRET_TOO_LONG)
    if not SECRET_TOKEN.fullmatch(secret):
        raise ApiError(SECRET_UNALLOWED)


def _retry_after(response: aiohttp.ClientResponse) -> float:
    try:
        return float(min(max(int(response.headers.get("Retry-After", "0")), 0), MAX_RETRY_AFTER))
    except ValueError:
        return 0.0


class Webhooks(Updates):
    """The webhook methods, and the task that pushes pending updates to the webhook."""

    # -- the Bot API methods ----------------------------------------------------------------

    def _m_setWebhook(self, params: Params) -> bool:
        url = params.string("url") or ""
        if not url:
            return self._m_deleteWebhook(params)
        _check_url(url)
        secret = params.string("secret_token") or ""
        _check_secret(secret)
        connections = params.integer("max_connections") or DEFAULT_MAX_CONNECTIONS
        allowed = params.json("allowed_updates", "Bad Request: can't parse allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        if params.flag("drop_pending_updates"):
            self._drop_pending_updates()
        if url != self.webhook_url:
            self._webhook_error = None
        self.webhook_url = url
        self._webhook = _Webhook(url, secret, min(max(connections, 1), MAX_CONNECTIONS))
        self._start_pushing()
        return True

    def _m_deleteWebhook(self, params: Params) -> bool:
        self.webhook_url = ""
        self._webhook = None
        self._webhook_error = None
        if self._webhook_pusher is not None:
            self._webhook_pusher.cancel()
            self._webhook_pusher = None
        if params.flag("drop_pending_updates"):
            self._drop_pending_updates()
        return True

    def _m_getWebhookInfo(self, params: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            target = self._route(self._webhook.url)
            info["ip_address"] = urlsplit(target).hostname if target else "<unknown>"
        if self._allowed_updates:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _drop_pending_updates(self) -> None:
        self._updates.clear()
        self._webhook_retries.clear()

    # -- test side ---------------------------------------------------------------------------

    def route_webhook(self, to: str | None, *, host: str | None = None) -> None:
        """Sends the webhook's requests to ``to`` (a loopback base URL such as
        ``http://127.0.0.1:8080``): its scheme, host and port replace the registered URL's,
        whose path and query are kept. ``host`` limits the route to URLs of that host name
        (None: every host). ``to=None`` removes the route: deliveries then fail to resolve."""
        if to is None:
            self._webhook_routes.pop(host, None)
        else:
            parts = urlsplit(to)
            if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
                raise ValueError(f"route the webhook to a loopback http(s) URL, not {to!r}")
            self._webhook_routes[host] = to.rstrip("/")
        self._notify()

    @property
    def webhook_last_error(self) -> str | None:
        """getWebhookInfo's last_error_message (None while there was no error)."""
        return self._webhook_error[1] if self._webhook_error else None

    def webhook_attempts(self, update_id: int) -> list[WebhookDelivery]:
        """Every POST of one update, oldest first (more than one: it was redelivered)."""
        return [d for d in self.webhook_deliveries if d.update_id == update_id]

    @property
    def webhook_in_flight(self) -> set[int]:
        """The update_ids being POSTed right now."""
        return set(self._webhook_in_flight)

    # -- delivery ----------------------------------------------------------------------------

    def _route(self, url: str) -> str | None:
        parts = urlsplit(url)
        base = self._webhook_routes.get(parts.hostname, self._webhook_routes.get(None))
        if base is None:
            return None
        route = urlsplit(base)
        return urlunsplit(
            (route.scheme, route.netloc, route.path + parts.path, parts.query, parts.fragment)
        )

    def _start_pushing(self) -> None:
        if self._webhook is None or self._closing:
            return
        if self._webhook_pusher is None or self._webhook_pusher.done():
            self._webhook_pusher = asyncio.get_running_loop().create_task(self._push_updates())

    async def _stop_pushing(self) -> None:
        """Cancels the pusher and every POST in flight, and closes their connections."""
        tasks = [*self._webhook_tasks]
        if self._webhook_pusher is not None:
            tasks.append(self._webhook_pusher)
            self._webhook_pusher = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None

    async def _push_updates(self) -> None:
        """Starts every delivery that may go, then sleeps until something changes (an update,
        an answer, a call) or the next redelivery is due."""
        try:
            while self._webhook is not None and not self._closing:
                due_in = self._start_deliveries(self._webhook)
                change = self._change
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(change.wait(), due_in)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the emulator: make it loud
            self.errors.append(exc)
            raise

    def _start_deliveries(self, hook: _Webhook) -> float | None:
        """Starts the deliveries that may go now; returns the seconds until the next waiting
        redelivery is due (None: nothing waits on a timer)."""
        now = asyncio.get_running_loop().time()
        heads: set[tuple[str, int]] = set()
        due_in: float | None = None
        for update in self._updates:
            queue = _queue(update)
            if queue in heads:
                continue  # an earlier update of its queue is not delivered yet
            heads.add(queue)
            update_id = int(update["update_id"])
            if update_id in self._webhook_in_flight:
                continue
            if len(self._webhook_in_flight) >= hook.max_connections:
                break
            retry = self._webhook_retries.get(update_id)
            if retry is not None and retry.not_before > now:
                wait = retry.not_before - now
                due_in = wait if due_in is None else min(due_in, wait)
                continue
            self._webhook_in_flight.add(update_id)
            task = asyncio.get_running_loop().create_task(self._deliver(update, hook))
            self._webhook_tasks.add(task)
            task.add_done_callback(self._webhook_tasks.discard)
        return due_in

    async def _deliver(self, update: dict[str, Any], hook: _Webhook) -> None:
        update_id = int(update["update_id"])
        target = self._route(hook.url)
        retry = self._webhook_retries.get(update_id)
        delivery = WebhookDelivery(
            update_id=update_id,
            attempt=(retry.failures if retry else 0) + 1,
            url=target or hook.url,
            started=time.monotonic(),
        )
        self.webhook_deliveries.append(delivery)
        retry_after = 0.0
        try:
            if target is None:
                delivery.error = RESOLVE_FAILED
            else:
                delivery.status, delivery.error, retry_after = await self._post(
                    target, update, hook
                )
        except asyncio.CancelledError:
            delivery.error = STOPPED
            raise
        finally:
            delivery.finished = time.monotonic()
            self._webhook_in_flight.discard(update_id)
        if delivery.error is None:
            self._acknowledged(update_id)
        else:
            self._failed(update_id, delivery.error, retry_after)
        self._notify()

    async def _post(
        self, target: str, update: dict[str, Any], hook: _Webhook
    ) -> tuple[int | None, str | None, float]:
        """(status, error, Retry-After seconds) of one POST; error None means delivered."""
        if self._webhook_session is None:
            self._webhook_session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
            )
        headers = {
            "Content-Type": "application/json",
            "Host": urlsplit(hook.url).netloc,
            "Accept-Encoding": "gzip, deflate",
        }
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        try:
            async with self._webhook_session.post(
                target, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return response.status, None, 0.0
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
                return response.status, error, _retry_after(response)
        except TimeoutError:
            return None, READ_TIMEOUT, 0.0
        except aiohttp.ClientConnectorError:
            return None, CONNECTION_REFUSED, 0.0
        except aiohttp.ClientError:
            return None, CONNECTION_CLOSED, 0.0

    def _acknowledged(self, update_id: int) -> None:
        self._updates = [u for u in self._updates if u["update_id"] != update_id]
        self._webhook_retries.pop(update_id, None)

    def _failed(self, update_id: int, error: str, retry_after: float) -> None:
        if self._webhook is not None:  # not an answer that came after deleteWebhook
            self._webhook_error = (int(time.time()), error)
        if all(u["update_id"] != update_id for u in self._updates):
            return  # dropped meanwhile (drop_pending_updates)
        retry = self._webhook_retries.setdefault(update_id, _Redelivery())
        retry.failures += 1
        delay = retry_after
        if not delay and retry.failures > 1:
            delay = min(
                self.webhook_retry_delay * 2 ** (retry.failures - 2), self.webhook_max_retry_delay
            )
        retry.not_before = asyncio.get_running_loop().time() + delay
