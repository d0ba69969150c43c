"""The round-robin proxy in front of webhook replicas: backends in turn, the request passed on
whole, refusing backends skipped, 502 when none answers, backends changed at run time; and the
Bot API emulator pushing through it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
import telegram

from tests.fakes.round_robin import RoundRobinProxy
from tests.fakes.telegram import BotApiEmulator
from tests.fakes.webhook_receiver import DROP, HOLD, Receiver

HOOK = "https://bot.example.org/tg/hook"
SECRET = "s3cret"


@pytest.fixture
async def replicas() -> AsyncIterator[list[Receiver]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(Receiver(name)) for name in "abc"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, proxy: RoundRobinProxy, update_id: int, path: str = "/tg/hook"
) -> tuple[int, Any]:
    """(status, body: JSON if it is) of one update POSTed through the proxy."""
    async with http.post(
        proxy.url + path,
        json={"update_id": update_id},
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    ) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


async def test_each_request_goes_to_the_next_backend_whole(
    replicas: list[Receiver], http: aiohttp.ClientSession
) -> None:
    a, b, c = replicas
    async with RoundRobinProxy(r.url for r in replicas) as proxy:
        answers = [await post(http, proxy, n, "/tg/hook?replica=any") for n in range(6)]
        assert answers == [(200, {"ok": True, "by": name}) for name in "abcabc"]
        assert proxy.received == {a.url: 2, b.url: 2, c.url: 2}
        assert (proxy.update_ids(a.url), proxy.update_ids(c.url)) == ([0, 3], [2, 5])
        assert a.update_ids == [0, 3] and a.secrets == [SECRET, SECRET]
        [seen, _] = a.seen("/tg/hook")
        assert seen.query == {"replica": "any"}
        assert seen.headers["Content-Type"] == "application/json"

        b.script.append(500)  # a backend's error is the answer: the next one is not tried
        assert await post(http, proxy, 6) == (200, {"ok": True, "by": "a"})
        assert await post(http, proxy, 7) == (500, {"ok": True, "by": "b"})
        assert c.update_ids == [2, 5]


async def test_a_backend_that_refuses_is_skipped(
    replicas: list[Receiver], http: aiohttp.ClientSession
) -> None:
    a, b, c = replicas
    await b.stop()
    async with RoundRobinProxy((r.url for r in replicas), fail_timeout=60) as proxy:
        answers = [await post(http, proxy, n) for n in range(6)]
        assert [status for status, _ in answers] == [200] * 6
        assert proxy.received == {a.url: 3, c.url: 3}  # the live ones share b's turns
        assert proxy.refused == {b.url: 1}  # then left out of the rotation
        assert [f.refused_by for f in proxy.forwarded] == [(), (b.url,), (), (), (), ()]


async def test_a_backend_back_on_its_port_gets_requests_again(
    replicas: list[Receiver], http: aiohttp.ClientSession
) -> None:
    a, b, _ = replicas
    await b.stop()
    async with RoundRobinProxy([a.url, b.url], fail_timeout=0) as proxy:
        assert {(await post(http, proxy, n))[1]["by"] for n in range(4)} == {"a"}
        assert proxy.refused[b.url] == 2
        await b.start()
        assert [(await post(http, proxy, n))[1]["by"] for n in range(4, 8)] == ["a", "b"] * 2


async def test_502_when_no_backend_answers(
    replicas: list[Receiver], http: aiohttp.ClientSession
) -> None:
    for replica in replicas:
        await replica.stop()
    async with RoundRobinProxy(r.url for r in replicas) as proxy:
        status, body = await post(http, proxy, 1)
        assert status == 502 and "Bad Gateway" in body
        [record] = proxy.forwarded
        assert record.backend is None and len(record.refused_by) == 3
    async with RoundRobinProxy() as empty:
        assert (await post(http, empty, 1))[0] == 502


async def test_a_backend_that_breaks_the_connection_is_not_retried_elsewhere(
    replicas: list[Receiver], http: aiohttp.ClientSession
) -> None:
    a, b, _ = replicas
    a.script.append(DROP)
    async with RoundRobinProxy([a.url, b.url]) as proxy:
        assert (await post(http, proxy, 1))[0] == 502  # a may have handled it: not resent
        assert b.updates == [] and a.update_ids == [1]
        assert await post(http, proxy, 2) == (200, {"ok": True, "by": "b"})


async def test_a_backend_slower_than_the_timeout_is_a_gateway_timeout(
    replicas: list[Receiver], http: aiohttp.ClientSession
) -> None:
    a = replicas[0]
    a.script.append(HOLD)
    async with RoundRobinProxy([a.url], timeout=0.1) as proxy:
        assert (await post(http, proxy, 1))[0] == 504
        a.release()
        assert (await post(http, proxy, 2))[0] == 200


async def test_backends_are_added_removed_and_blocked_at_run_time(
    replicas: list[Receiver], http: aiohttp.ClientSession
) -> None:
    a, b, c = replicas

    async def by(update_id: int) -> str:
        status, body = await post(http, proxy, update_id)
        return str(body["by"]) if status == 200 else str(status)

    async with RoundRobinProxy([a.url]) as proxy:
        assert [await by(n) for n in range(2)] == ["a", "a"]
        proxy.add_backend(b.url + "/")
        proxy.add_backend(c.url)
        assert proxy.backends == [a.url, b.url, c.url]
        assert sorted([await by(n) for n in range(3)]) == ["a", "b", "c"]
        proxy.remove_backend(a.url)
        assert sorted([await by(n) for n in range(4)]) == ["b", "b", "c", "c"]
        proxy.block(b.url)
        assert [await by(n) for n in range(2)] == ["c", "c"]
        assert proxy.refused[b.url] == 1
        proxy.block(c.url)
        assert await by(9) == "502"
        proxy.unblock(b.url)
        assert await by(10) == "b"


async def test_the_emulator_pushes_through_the_proxy_and_redelivers_after_a_502(
    tg: BotApiEmulator, bot: telegram.Bot, replicas: list[Receiver]
) -> None:
    tg.webhook_retry_delay = tg.webhook_max_retry_delay = 0.02
    async with RoundRobinProxy(r.url for r in replicas) as proxy:
        tg.route_webhook(to=proxy.url)
        await bot.set_webhook(HOOK, secret_token=SECRET)
        for chat in range(1, 10):
            tg.send_text(chat, f"hello from {chat}")
        await tg.webhook_idle()
        # updates spread across replicas: a third each, every update once
        assert proxy.received == {r.url: 3 for r in replicas}
        delivered = [i for r in replicas for i in proxy.update_ids(r.url)]
        assert sorted(delivered) == sorted(d.update_id for d in tg.webhook_deliveries)
        assert all(r.secrets == [SECRET] * 3 for r in replicas)

        for replica in replicas:
            await replica.stop()
        tg.send_text(1, "while every replica is down")
        update_id = tg.pending_updates[0]["update_id"]
        await tg.wait_for(lambda: len(tg.webhook_attempts(update_id)) >= 2)
        assert tg.webhook_last_error == "Wrong response from the webhook: 502 Bad Gateway"
        await replicas[1].start()
        await tg.webhook_idle()
        assert replicas[1].update_ids[-1] == update_id
        assert proxy.update_ids(replicas[1].url)[-1] == update_id
