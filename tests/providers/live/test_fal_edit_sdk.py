"""The fal fake's edit inputs and refusals checked against fal's own client (``fal-client``): a
data URI it encodes arrives as the same bytes, and a refusal by moderation reads as fal's 422.

fal-client builds its queue address at import time from ``FAL_QUEUE_RUN_HOST``, so it runs in a
child process pointed at the fake served over TLS with a throwaway CA (trustme).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web

from tests.fakes.fal import POLICY_MESSAGE, DataUrl, FakeFal
from tests.fakes.prodia import png_bytes

FAL_KEY = "fal-sdk-edit-key-123"
PNG = png_bytes(4, 4)


class TlsFakeFal(FakeFal):
    """The fal fake on https://127.0.0.1, with a certificate from a throwaway CA."""

    def __init__(self, ca: trustme.CA) -> None:
        super().__init__(key=FAL_KEY)
        self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.ssl_context)

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"https://127.0.0.1:{port}"
        return self.url


EDIT_SCRIPT = r"""
import asyncio, json, sys, fal_client

async def main():
    png = bytes.fromhex(sys.argv[1])
    client = fal_client.AsyncClient()  # the key comes from FAL_KEY
    arguments = {"prompt": "make it snow", "image_url": fal_client.encode(png, "image/png")}
    handle = await client.submit("fal-ai/flux-pro/kontext", arguments=arguments)
    async for _ in handle.iter_events(interval=0.01):
        pass
    report = {"request_id": handle.request_id}
    try:
        report["result"] = await handle.get()
    except fal_client.client.FalClientHTTPError as error:
        status = await handle.status()
        report["refused"] = {
            "status_code": error.status_code, "detail": error.message,
            "status_error": status.error, "status_error_type": status.error_type,
        }
    print(json.dumps(report))

asyncio.run(main())
"""


async def run_fal_client(tmp_path: Path, *, refuse: str | None = None) -> tuple[Any, FakeFal]:
    """What fal-client saw editing :data:`PNG` against the fake, and the fake."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    fake = TlsFakeFal(ca)
    fake.queue_ahead, fake.refuse_next = 0, refuse
    async with fake:
        env = {
            **os.environ,
            "FAL_KEY": FAL_KEY,
            "FAL_QUEUE_RUN_HOST": fake.url.removeprefix("https://"),
            "SSL_CERT_FILE": str(ca_file),
        }
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            EDIT_SCRIPT,
            PNG.hex(),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    return json.loads(out), fake


async def test_fal_client_sends_a_data_uri_the_fake_decodes_to_the_same_bytes(
    tmp_path: Path,
) -> None:
    report, fake = await run_fal_client(tmp_path)
    queued = fake.requests_by_id[report["request_id"]]
    assert queued.app == "fal-ai/flux-pro/kontext"
    assert queued.pictures == {"image_url": DataUrl("image/png", PNG)}
    assert [image["content_type"] for image in report["result"]["images"]] == ["image/png"]


async def test_fal_client_reads_the_fakes_refusal_as_fals_422(tmp_path: Path) -> None:
    report, _ = await run_fal_client(tmp_path, refuse=POLICY_MESSAGE)
    refused = report["refused"]
    assert refused["status_code"] == 422
    [detail] = refused["detail"]
    assert detail["type"] == "content_policy_violation" and detail["msg"] == POLICY_MESSAGE
    assert detail["loc"] == ["body", "prompt"]
    assert refused["status_error"] == POLICY_MESSAGE
