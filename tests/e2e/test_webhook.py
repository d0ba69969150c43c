"""Webhook mode: only requests carrying WEBHOOK_SECRET are processed."""

from __future__ import annotations

import socket

import aiohttp

from bot.__main__ import webhook_options
from bot.app import build_application, running
from tests.e2e.conftest import World

SECRET = "s3cret-Token_42"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_requests_without_the_secret_are_refused(world: World) -> None:
    tg = world.tg
    port = free_port()
    settings = world.settings(
        webhook_url="https://bot.example.org/tg/hook",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    options = webhook_options(settings)
    assert options["url_path"] == "tg/hook"
    endpoint = f"http://127.0.0.1:{port}/tg/hook"
    async with (
        running(build_application(settings), webhook=options),
        aiohttp.ClientSession() as http,
    ):
        assert tg.webhook_url == "https://bot.example.org/tg/hook"
        assert tg.calls("setWebhook")[0].params["secret_token"] == SECRET

        forged = {"update_id": 1, "message": tg.send_text(77, "/imagine a forged fox")}
        async with http.post(endpoint, json=forged) as response:
            assert response.status == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        async with http.post(endpoint, json=forged, headers=wrong) as response:
            assert response.status == 403

        real = tg.send_text(77, "/help")
        right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(
            endpoint, json={"update_id": 2, "message": real}, headers=right
        ) as response:
            assert response.status == 200
        reply = await world.reply_to(77, real, lambda m: True)
        assert "/imagine" in (reply.text or "")
    assert world.arta.job_list == []
    assert not [m for m in tg.bot_messages(77) if m.reply_to == forged["message"]["message_id"]]
