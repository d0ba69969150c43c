"""``python -m bot`` started in each way that fails: one clear line, the right exit status, and
never the token (nor its secret half) in anything it prints."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from tests.e2e.conftest import World
from tests.e2e.process import ROOT, bot_env
from tests.fakes.telegram import BotApiEmulator

# Shaped like a real token, so that a leak of either half is findable.
TOKEN = "987654321:TESTx9StartTestSecretHalfNeverPrinted_1-x"
SECRET = TOKEN.split(":")[1]


def env(api_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api_url,
        "DATA_DIR": str(data_dir),
    }


class Output:
    """Everything a child process prints, read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._readers = [
            asyncio.ensure_future(self._read(stream))
            for stream in (process.stdout, process.stderr)
            if stream is not None
        ]

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    async def until(self, found: Callable[[list[str]], bool]) -> None:
        async with asyncio.timeout(60):
            while not found(self.lines):
                assert self.process.returncode is None, self.text
                await asyncio.sleep(0.05)

    async def end(self, sig: int | None = None) -> int:
        if sig is not None and self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), timeout=60)
        await asyncio.gather(*self._readers)
        return code

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def assert_no_token(self) -> None:
        assert TOKEN not in self.text and SECRET not in self.text, self.text
        assert "Traceback" not in self.text or "<token>" in self.text


@asynccontextmanager
async def bot(environment: dict[str, str], cwd: Path) -> AsyncIterator[Output]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output = Output(process)
    try:
        yield output
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@asynccontextmanager
async def telegram_answering(status: int, description: str) -> AsyncIterator[str]:
    """A Bot API that answers every call with ``status`` and ``description``."""

    async def answer(request: web.Request) -> web.Response:
        body = {"ok": False, "error_code": status, "description": description}
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once closed


def retries(lines: list[str]) -> list[str]:
    return [line for line in lines if "WARNING" in line and "cannot reach Telegram" in line]


async def test_a_token_telegram_rejects_is_one_line_and_exit_2(tmp_path: Path) -> None:
    async with (
        telegram_answering(401, f"Unauthorized: no bot {TOKEN}") as url,
        bot(env(url, tmp_path / "data"), tmp_path) as output,
    ):
        code = await output.end()
    assert code == 2, output.text
    assert len([line for line in output.lines if "rejected" in line]) == 1, output.text
    assert "Traceback" not in output.text
    output.assert_no_token()


@pytest.mark.parametrize("failure", ["refused", "5xx"])
async def test_an_unreachable_telegram_is_retried_until_sigterm(
    tmp_path: Path, failure: str
) -> None:
    async with telegram_answering(502, f"Bad Gateway: upstream /bot{TOKEN}/getMe") as bad_gateway:
        url = refused_url() if failure == "refused" else bad_gateway
        async with bot(env(url, tmp_path / "data"), tmp_path) as output:
            await output.until(lambda lines: len(retries(lines)) >= 3)
            code = await output.end(signal.SIGTERM)
    assert code == 0, output.text
    assert "Traceback" not in output.text and "rejected" not in output.text
    first, second, third = retries(output.lines)[:3]
    assert "trying again in 1 s" in first and "in 2 s" in second and "in 4 s" in third
    output.assert_no_token()


async def test_a_crash_in_a_handler_logs_a_traceback_without_the_token(world: World) -> None:
    tg = world.tg
    tg.token = TOKEN
    # A 500 whose text quotes the request URL (as some proxies do): the handler's reply fails.
    tg.fail_next(
        "sendMessage",
        error_code=500,
        description=f"Internal Server Error at /bot{TOKEN}/sendMessage (key {SECRET})",
        times=10,
    )
    async with bot(bot_env(world), world.data_dir) as output:
        tg.send_text(42, "/start")
        await output.until(lambda lines: any("update failed" in line for line in lines))
        code = await output.end(signal.SIGINT)
    assert code == 0, output.text
    assert "Traceback" in output.text and "<token>" in output.text
    output.assert_no_token()


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["help"], ["frob"]])
def test_help_lists_the_commands_and_starts_nothing(tmp_path: Path, argv: list[str]) -> None:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=tmp_path,
        env=environment,  # no token: a start would fail
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if argv == ["frob"]:
        assert result.returncode == 2
        assert result.stderr.startswith("usage: python -m bot")
        assert "invalid choice" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    for word in ("run", "set-webhook", "setup", ".env file in the working directory"):
        assert word in result.stdout
    assert not (tmp_path / "data").exists()


async def test_set_webhook_registers_the_url_and_exits(tmp_path: Path) -> None:
    async with BotApiEmulator(token=TOKEN) as tg:
        environment = {
            **env(tg.url, tmp_path / "data"),
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "WEBHOOK_SECRET": "s3cret-value",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "set-webhook",
            cwd=tmp_path,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output
    [call] = tg.calls("setWebhook")
    assert call.params["url"] == "https://bot.example.org/hook"
    assert call.params["secret_token"] == "s3cret-value"
    assert TOKEN not in output.decode() and SECRET not in output.decode()
