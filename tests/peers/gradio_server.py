"""Starts tests/peers/gradio_app.py (a real Gradio server) for a test module, offline."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).with_name("gradio_app.py")
START_TIMEOUT = 180.0
"""A guard against a hung start, not a speed target: importing gradio takes seconds."""


@dataclass(frozen=True)
class GradioApp:
    """A running app: its root URL and the file its stderr goes to."""

    url: str
    log: Path

    def outbound(self) -> list[str]:
        """The connections and lookups off this machine the app tried (and was refused)."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line for line in lines if line.startswith("outbound:")]


def offline_environment(temp_dir: Path) -> dict[str, str]:
    """The environment that keeps Gradio off the network: no analytics or version check, no
    Hugging Face Hub calls, no SSR (Node), no proxies for loopback, files under ``temp_dir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_SSR_MODE="False",
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        GRADIO_TEMP_DIR=str(temp_dir / "files"),
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def running_gradio_app(temp_dir: Path) -> Iterator[GradioApp]:
    """The app served on 127.0.0.1 inside the block; stopped (stdin closed) afterwards."""
    log = temp_dir / "gradio.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, str(APP)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=offline_environment(temp_dir),
            cwd=temp_dir,
        )
    try:
        url = _announced_url(process)
        if url is None:
            process.kill()
            process.wait()
            raise RuntimeError(f"the Gradio app did not start:\n{log.read_text()[-3000:]}")
        yield GradioApp(url, log)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _announced_url(process: subprocess.Popen[bytes]) -> str | None:
    """The URL from the app's ``{"url": ...}`` line (other output is skipped), or None when
    it exits or stays silent for START_TIMEOUT seconds first."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while selector.select(START_TIMEOUT):
            line = process.stdout.readline()
            if not line:
                return None
            if line.startswith(b'{"url"'):
                return str(json.loads(line)["url"])
    return None
