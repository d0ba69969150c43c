"""The Bot API emulator in webhook mode: setWebhook as Telegram checks it, updates pushed one per
POST with the secret, redelivered after an error status, a timeout or a refused connection,
at most max_connections at once and a chat's updates one at a time; python-telegram-bot's own
webhook server receiving them, alone and as two replicas behind the round-robin proxy."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import telegram
from aiohttp import web
from telegram import Update
from telegram.error import BadRequest, Conflict
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from tests.fakes.emulator_support import GROUP, USER
from tests.fakes.round_robin import RoundRobinProxy
from tests.fakes.telegram import BotApiEmulator
from tests.fakes.webhook_receiver import DROP, HOLD, Receiver

HOOK = "https://bot.example.org/tg/hook"
SECRET = "s3cret-Token_42"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as server:
        yield server


async def hooked(tg: BotApiEmulator, bot: telegram.Bot, to: str, **kwargs: Any) -> None:
    """The bot registers HOOK; its host points at ``to``."""
    tg.route_webhook(to=to)
    assert await bot.set_webhook(HOOK, secret_token=SECRET, **kwargs)


# -- setWebhook, getWebhookInfo, deleteWebhook ----------------------------------------------


async def test_set_webhook_is_checked_like_telegram(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    refusals = {
        "http://bot.example.org/tg/hook": "(?i)an https url must be provided for webhook",
        "https://bot.example.org:8080/tg/hook": "(?i)only on ports 80, 88, 443 or 8443",
    }
    for url, words in refusals.items():
        with pytest.raises(BadRequest, match=words):
            await bot.set_webhook(url)
    for secret in ("has space", "plus+slash/", "x" * 257):
        with pytest.raises(BadRequest, match=r"(?i)secret token"):
            await bot.set_webhook(HOOK, secret_token=secret)
    assert tg.webhook_url == ""

    assert await bot.set_webhook("https://bot.example.org:8443/hook", secret_token="a" * 256)
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections, info.pending_update_count) == (
        "https://bot.example.org:8443/hook",
        40,
        0,
    )
    assert await bot.set_webhook(HOOK, max_connections=500)
    assert (await bot.get_webhook_info()).max_connections == 100
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.set_webhook("")  # an empty URL removes it, as deleteWebhook does
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()


async def test_updates_are_pushed_one_per_post_in_order_with_the_secret(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    await hooked(tg, bot, receiver.url)
    sent = [tg.send_text(USER, f"message {n}") for n in range(3)]
    sent.append(tg.send_text(GROUP, "/imagine@ImagineTestBot a fox"))
    await tg.webhook_idle()

    first = min(receiver.update_ids)
    assert sorted(receiver.update_ids) == list(range(first, first + 4))  # each once
    in_user_chat = [u["message"] for u in receiver.updates if u["message"]["chat"]["id"] == USER]
    assert in_user_chat == sent[:3]  # a chat's updates in order, as getUpdates gives them
    assert receiver.secrets == [SECRET] * 4
    posts = receiver.seen("/tg/hook")
    assert len(posts) == 4 and all(p.method == "POST" for p in posts)
    assert posts[0].headers["Content-Type"] == "application/json"
    assert posts[0].headers["Host"] == "bot.example.org"
    assert all(d.acknowledged and d.status == 200 for d in tg.webhook_deliveries)
    assert [d.url for d in tg.webhook_deliveries] == [f"{receiver.url}/tg/hook"] * 4
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0 and info.last_error_message is None
    assert info.ip_address == "127.0.0.1"


async def test_no_secret_header_without_a_secret(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    tg.route_webhook(to=receiver.url)
    await bot.set_webhook(HOOK)
    tg.send_text(USER, "hello")
    await tg.webhook_idle()
    assert receiver.secrets == [None]


async def test_an_error_status_delivers_the_same_update_again(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    receiver.script.extend([500, 503])
    await hooked(tg, bot, receiver.url)
    tg.send_text(USER, "again?")
    update_id = tg.pending_updates[0]["update_id"]
    await tg.webhook_idle()

    assert receiver.update_ids == [update_id] * 3
    assert receiver.updates[0] == receiver.updates[2]
    attempts = tg.webhook_attempts(update_id)
    assert [(a.attempt, a.status, a.acknowledged) for a in attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 503 Service Unavailable"
    assert info.last_error_date is not None and info.pending_update_count == 0


async def test_a_slow_answer_times_out_and_the_update_goes_again(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    tg.webhook_timeout = 0.2
    receiver.script.append(HOLD)  # the first POST hangs until released
    await hooked(tg, bot, receiver.url)
    tg.send_text(USER, "/imagine something slow")
    update_id = tg.pending_updates[0]["update_id"]
    await tg.webhook_idle()

    first, second = tg.webhook_attempts(update_id)
    assert (first.status, first.error) == (None, "Read timeout expired")
    assert second.acknowledged and second.started >= first.started + 0.2
    assert tg.webhook_last_error == "Read timeout expired"
    receiver.release()
    await receiver.wait_for(lambda: receiver.in_flight == 0)
    assert receiver.update_ids == [update_id, update_id]  # the bot saw it twice


async def test_a_refused_connection_is_retried_until_the_webhook_is_back(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    tg.webhook_retry_delay = tg.webhook_max_retry_delay = 0.02
    await receiver.stop()
    await hooked(tg, bot, receiver.url)
    tg.send_text(USER, "anyone there?")
    update_id = tg.pending_updates[0]["update_id"]
    await tg.wait_for(lambda: len(tg.webhook_attempts(update_id)) >= 3)
    assert tg.webhook_last_error == "Connection refused"
    assert (await bot.get_webhook_info()).pending_update_count == 1

    await receiver.start()  # the same port
    await tg.webhook_idle()
    assert receiver.update_ids == [update_id]
    assert tg.webhook_attempts(update_id)[-1].acknowledged


async def test_a_dropped_connection_is_an_error_too(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    receiver.script.append(DROP)
    await hooked(tg, bot, receiver.url)
    tg.send_text(USER, "hi")
    await tg.webhook_idle()
    first, second = tg.webhook_deliveries
    assert first.error == "Webhook connection closed" and second.acknowledged
    assert receiver.update_ids == [first.update_id] * 2


async def test_waits_between_deliveries_grow_and_follow_retry_after(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    tg.webhook_retry_delay, tg.webhook_max_retry_delay = 0.05, 0.1
    receiver.script.extend([500] * 4)
    receiver.script.append(web.Response(status=429, headers={"Retry-After": "1"}))
    await hooked(tg, bot, receiver.url)
    tg.send_text(USER, "hi")
    await tg.webhook_idle()

    attempts = tg.webhook_deliveries
    gaps = [b.started - (a.finished or 0.0) for a, b in itertools.pairwise(attempts)]
    assert len(attempts) == 6
    # Telegram retries at once, then after 2, 4, 8... seconds; here 0.05 doubling up to 0.1.
    assert gaps[1] >= 0.05 and gaps[2] >= 0.1 and gaps[3] >= 0.1
    assert gaps[4] >= 1.0  # Retry-After: 1
    assert attempts[4].error == "Wrong response from the webhook: 429 Too Many Requests"


async def test_an_unrouted_host_does_not_resolve(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    await bot.set_webhook(HOOK, secret_token=SECRET)
    tg.send_text(USER, "hello")
    await tg.wait_for(lambda: tg.webhook_deliveries)
    assert tg.webhook_deliveries[0].error == ("Failed to resolve host: Name or service not known")
    assert (await bot.get_webhook_info()).ip_address == "<unknown>"
    with pytest.raises(ValueError, match="loopback"):
        tg.route_webhook(to="http://bot.example.org")


async def test_at_most_max_connections_and_one_update_per_chat_at_a_time(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    receiver.default = 200
    receiver.script.extend([HOLD] * 10)
    await hooked(tg, bot, receiver.url, max_connections=2)
    chats = [USER, GROUP, 43, 44]
    for chat in chats:
        tg.send_text(chat, "first")
    tg.send_text(USER, "second")
    await receiver.wait_for(lambda: receiver.in_flight == 2)
    assert len(tg.webhook_in_flight) == 2
    assert receiver.update_ids == [u["update_id"] for u in tg.pending_updates[:2]]
    receiver.release()
    await tg.webhook_idle()

    assert receiver.peak == 2 and len(receiver.updates) == 5
    by_id = {d.update_id: d for d in tg.webhook_deliveries}
    in_user_chat = [u["update_id"] for u in receiver.updates if u["message"]["chat"]["id"] == USER]
    earlier, later = (by_id[i] for i in in_user_chat)
    assert earlier.update_id < later.update_id
    assert earlier.finished is not None and later.started >= earlier.finished


async def test_updates_of_one_chat_wait_for_the_one_before_them(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    receiver.script.extend([500, 500, 500])
    tg.webhook_retry_delay = tg.webhook_max_retry_delay = 0.02
    await hooked(tg, bot, receiver.url)
    first = tg.send_text(USER, "one")
    tg.send_text(USER, "two")
    await tg.webhook_idle()
    texts = [u["message"]["text"] for u in receiver.updates]
    assert texts == ["one", "one", "one", "one", "two"]
    assert receiver.updates[0]["message"] == first


async def test_delete_webhook_stops_pushing_and_can_drop_what_is_pending(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    receiver.default = 500
    await hooked(tg, bot, receiver.url)
    tg.send_text(USER, "kept")
    await receiver.wait_for(lambda: len(receiver.updates) >= 2)
    assert await bot.delete_webhook()
    await tg.wait_for(lambda: not tg.webhook_in_flight)
    tried = len(receiver.updates)
    [pending] = await bot.get_updates()  # the update is still there, for getUpdates now
    assert pending.message is not None and pending.message.text == "kept"
    assert len(receiver.updates) == tried

    await bot.set_webhook(HOOK, secret_token=SECRET)
    tg.send_text(USER, "dropped too")
    await receiver.wait_for(lambda: len(receiver.updates) > tried)
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0
    await tg.wait_for(lambda: not tg.webhook_in_flight)
    receiver.default = 200
    before = len(receiver.updates)
    await bot.set_webhook(HOOK, secret_token=SECRET)
    tg.send_text(USER, "fresh")
    await tg.webhook_idle()
    assert [u["message"]["text"] for u in receiver.updates[before:]] == ["fresh"]


async def test_set_webhook_can_drop_pending_updates(
    tg: BotApiEmulator, bot: telegram.Bot, receiver: Receiver
) -> None:
    tg.send_text(USER, "old, never delivered")
    await hooked(tg, bot, receiver.url, drop_pending_updates=True)
    tg.send_text(USER, "new")
    await tg.webhook_idle()
    assert [u["message"]["text"] for u in receiver.updates] == ["new"]


# -- python-telegram-bot's own webhook server as the receiver ------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Handled:
    """The update_ids one python-telegram-bot Application handled, in order."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self._change = asyncio.Event()

    async def record(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.ids.append(update.update_id)
        self._change.set()
        self._change = asyncio.Event()

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while len(self.ids) < count:
                change = self._change
                await change.wait()


def ptb_application(
    tg: BotApiEmulator, handled: Handled
) -> Application[Any, Any, Any, Any, Any, Any]:
    app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).build()
    app.add_handler(TypeHandler(Update, handled.record))
    return app


async def serve_webhook(
    stack: AsyncExitStack, app: Application[Any, Any, Any, Any, Any, Any], port: int, secret: str
) -> None:
    """Runs ``app`` with PTB's webhook server on ``port`` (it calls setWebhook itself)."""
    await stack.enter_async_context(app)
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="tg/hook",
        webhook_url=HOOK,
        secret_token=secret,
    )
    stack.push_async_callback(app.updater.stop)
    await app.start()
    stack.push_async_callback(app.stop)


async def test_python_telegram_bot_webhook_server_gets_every_update(tg: BotApiEmulator) -> None:
    port = free_port()
    tg.route_webhook(to=f"http://127.0.0.1:{port}")
    handled = Handled()
    async with AsyncExitStack() as stack:
        await serve_webhook(stack, ptb_application(tg, handled), port, SECRET)
        [call] = tg.calls("setWebhook")
        assert call.params["url"] == HOOK and call.params["secret_token"] == SECRET
        for n in range(5):
            tg.send_text(USER if n % 2 else GROUP, f"update {n}")
        await tg.webhook_idle()
        await handled.wait_for(5)
    assert sorted(handled.ids) == [d.update_id for d in tg.webhook_deliveries]
    assert all(d.status == 200 for d in tg.webhook_deliveries)


async def test_python_telegram_bot_refuses_a_wrong_secret_and_telegram_retries(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    port = free_port()
    tg.route_webhook(to=f"http://127.0.0.1:{port}")
    tg.webhook_retry_delay = tg.webhook_max_retry_delay = 0.02
    handled = Handled()
    async with AsyncExitStack() as stack:
        await serve_webhook(stack, ptb_application(tg, handled), port, SECRET)
        await bot.set_webhook(HOOK, secret_token="not-the-replicas-secret")
        tg.send_text(USER, "hello")
        await tg.wait_for(lambda: len(tg.webhook_deliveries) >= 2)
        # Telegram quotes the status line; PTB's reason is its own.
        assert tg.webhook_last_error == (
            "Wrong response from the webhook: 403 Request had the wrong secret token"
        )
        assert handled.ids == []
        await bot.set_webhook(HOOK, secret_token=SECRET)  # fixed: the same update goes through
        await tg.webhook_idle()
        await handled.wait_for(1)
    assert handled.ids == [tg.webhook_deliveries[0].update_id]


async def test_two_python_telegram_bot_replicas_behind_the_proxy_share_the_updates(
    tg: BotApiEmulator,
) -> None:
    ports = [free_port(), free_port()]
    replicas = [Handled(), Handled()]
    async with (
        RoundRobinProxy([f"http://127.0.0.1:{p}" for p in ports]) as proxy,
        AsyncExitStack() as stack,
    ):
        tg.route_webhook(to=proxy.url)
        for port, handled in zip(ports, replicas, strict=True):
            await serve_webhook(stack, ptb_application(tg, handled), port, SECRET)
        for n in range(6):
            tg.send_text(1000 + n, f"chat {n}")
        await tg.webhook_idle()
        for handled in replicas:
            await handled.wait_for(3)

    first, second = (handled.ids for handled in replicas)
    assert len(first) == len(second) == 3  # round robin: every other update
    assert sorted(first + second) == sorted(d.update_id for d in tg.webhook_deliveries)
    assert proxy.received == {b: 3 for b in proxy.backends}
    assert sorted(proxy.update_ids(proxy.backends[0])) == sorted(first)
