"""Reaching Telegram before the bot starts: a token Telegram rejects stops the start (a restart
cannot fix it), while a Telegram that cannot be reached is waited for, with a growing pause."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from telegram import Bot, User
from telegram.error import InvalidToken, NetworkError, RetryAfter

log = logging.getLogger("bot")

FIRST_PAUSE = 1.0
LONGEST_PAUSE = 60.0

T = TypeVar("T")


class TokenRejected(Exception):
    """Telegram answered that the token is not a bot's; ``str(error)`` is one line without it."""


def rejected(api_url: str) -> TokenRejected:
    return TokenRejected(
        f"Telegram ({api_url}) rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/token) "
        "and put the current one in .env; the bot does not start with this token."
    )


def api_roots(api_url: str) -> tuple[str, str]:
    """python-telegram-bot's ``base_url`` and ``base_file_url`` for TELEGRAM_API_URL: methods at
    {root}/bot{token}/{method}, files at {root}/file/bot{token}/{path}."""
    root = api_url.rstrip("/")
    return f"{root}/bot", f"{root}/file/bot"


def telegram_bot(token: str, api_url: str) -> Bot:
    """A plain Bot on ``api_url`` (https://api.telegram.org or a local Bot API server)."""
    base_url, base_file_url = api_roots(api_url)
    return Bot(token, base_url=base_url, base_file_url=base_file_url)


async def check_token(bot: Bot, api_url: str) -> User:
    """Initialises ``bot`` (one getMe) and returns the bot's user; raises TokenRejected, or the
    NetworkError (a 5xx, a timeout, a refused connection) when Telegram cannot be reached."""
    try:
        await bot.initialize()
    except InvalidToken:
        # python-telegram-bot's own message quotes the token.
        raise rejected(api_url) from None
    return bot.bot


def reason(error: BaseException) -> str:
    """One short line about a network error."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:199] + "…"


async def until(stop: asyncio.Event, work: Awaitable[T]) -> tuple[bool, T | None]:
    """Runs ``work`` until it ends or ``stop`` is set: (True, result) or (False, None)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task.done():
        return True, task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return False, None


async def wait_for_telegram(token: str, api_url: str, stop: asyncio.Event) -> User | None:
    """The bot's user once getMe answers; None when ``stop`` is set first. Each failed attempt
    logs one WARNING line with the reason; the pause doubles from 1 s up to a minute."""
    pause = FIRST_PAUSE
    attempt = 1
    while True:
        bot = telegram_bot(token, api_url)
        try:
            done, user = await until(stop, check_token(bot, api_url))
            if not done:
                return None
            return user
        except RetryAfter as error:
            wait = max(pause, error._retry_after.total_seconds())  # the property warns
            why = f"flood control, retry after {wait:.0f} s"
        except NetworkError as error:
            wait, why = pause, reason(error)
            pause = min(pause * 2, LONGEST_PAUSE)
        finally:
            await bot.shutdown()
        log.warning(
            "cannot reach Telegram at %s (attempt %d: %s); trying again in %.0f s",
            api_url,
            attempt,
            why,
            wait,
        )
        attempt += 1
        done, _ = await until(stop, asyncio.sleep(wait))
        if not done:
            return None
