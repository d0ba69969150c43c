"""The fakes checked against the services' own client SDKs: if ``fal-client`` and ``replicate``
accept their answers, the fakes speak the real protocols (and our providers are tested against
something the real clients would also understand).

replicate takes a ``base_url``. fal-client builds its queue address at import time as
``https://{FAL_QUEUE_RUN_HOST}/``, so it runs in a child process with that variable and
``SSL_CERT_FILE`` set, against the fake served over TLS with a throwaway CA (trustme).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import replicate
import trustme
from aiohttp import web
from replicate.exceptions import ModelError, ReplicateError

from tests.fakes.fal import FakeFal
from tests.fakes.replicate import FakeReplicate

FAL_KEY = "fal-sdk-key-123"
TOKEN = "r8_sdk_token_123"

# --- Replicate ------------------------------------------------------------------------------


@pytest.fixture
async def fake_replicate() -> AsyncIterator[FakeReplicate]:
    async with FakeReplicate(token=TOKEN) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def client(fake_replicate: FakeReplicate) -> replicate.Client:
    sdk = replicate.Client(api_token=TOKEN, base_url=fake_replicate.url)
    sdk.poll_interval = 0.01
    return sdk


async def test_replicate_sdk_runs_a_model_with_prefer_wait(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.finish_while_waiting = True
    outputs = await client.async_run(
        "black-forest-labs/flux-schnell", input={"prompt": "a fox", "num_outputs": 2}
    )
    [(prediction_id,)] = [tuple(fake_replicate.predictions)]
    root = f"{fake_replicate.url}/files/{prediction_id}"
    assert outputs == [f"{root}/0.png", f"{root}/1.png"]  # plain http URLs stay strings
    assert not [r for r in fake_replicate.requests if r.method == "GET"]
    [(path, _, prefer)] = fake_replicate.creations
    assert path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert prefer == "wait"


async def test_replicate_sdk_polls_a_prediction_to_the_end(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.starting_polls = fake_replicate.processing_polls = 2
    prediction = await client.models.predictions.async_create(
        model="black-forest-labs/flux-dev", input={"prompt": "a fox", "seed": 9}
    )
    assert prediction.status == "starting"
    await prediction.async_wait()
    assert prediction.status == "succeeded"
    assert prediction.output == [f"{fake_replicate.url}/files/{prediction.id}/0.png"]
    assert prediction.logs and "Using seed: 9" in prediction.logs
    assert prediction.urls and prediction.urls["get"].endswith(f"/v1/predictions/{prediction.id}")


async def test_replicate_sdk_cancels_and_sees_failures(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.starting_polls = 10**6
    prediction = await client.models.predictions.async_create(
        model="black-forest-labs/flux-schnell", input={"prompt": "a fox"}
    )
    await prediction.async_cancel()
    assert prediction.status == "canceled"
    assert fake_replicate.cancels == [prediction.id]

    fake_replicate.starting_polls = 0
    fake_replicate.fail_next = "NSFW content detected"
    with pytest.raises(ModelError) as failed:
        await client.async_run("black-forest-labs/flux-schnell", input={"prompt": "x"})
    assert failed.value.prediction.error == "NSFW content detected"


@pytest.mark.parametrize(("status", "title"), [(401, "Unauthenticated"), (402, "Insufficient")])
async def test_replicate_sdk_reads_the_fakes_problem_details(
    fake_replicate: FakeReplicate, client: replicate.Client, status: int, title: str
) -> None:
    fake_replicate.create_status = status
    with pytest.raises(ReplicateError) as info:
        await client.models.predictions.async_create(
            model="black-forest-labs/flux-schnell", input={"prompt": "a fox"}
        )
    assert info.value.status == status and (info.value.title or "").startswith(title)


# --- fal ------------------------------------------------------------------------------------


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


FAL_SCRIPT = r"""
import asyncio, json, fal_client

async def main():
    client = fal_client.AsyncClient()  # the key comes from FAL_KEY
    handle = await client.submit(
        "fal-ai/flux/dev", arguments={"prompt": "a fox", "num_images": 2, "seed": 5}
    )
    seen = []
    async for status in handle.iter_events(with_logs=True, interval=0.01):
        seen.append([type(status).__name__, getattr(status, "position", None)])
    result = await handle.get()
    held = await client.submit("fal-ai/flux/schnell", arguments={"prompt": "held"})
    await held.cancel()
    try:
        await fal_client.AsyncClient(key="wrong").submit("fal-ai/flux/schnell", {"prompt": "x"})
        refused = None
    except fal_client.client.FalClientHTTPError as error:
        refused = error.status_code
    print(json.dumps({
        "request_id": handle.request_id, "statuses": seen, "result": result,
        "status_url": handle.status_url, "held": held.request_id, "refused": refused,
    }))

asyncio.run(main())
"""


async def test_fal_client_runs_a_queued_request_and_cancels_one(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with TlsFakeFal(ca) as fake:
        fake.queue_ahead, fake.progress_polls = 1, 1  # type: ignore[attr-defined]
        env = {
            **os.environ,
            "FAL_KEY": FAL_KEY,
            "FAL_QUEUE_RUN_HOST": fake.url.removeprefix("https://"),
            "SSL_CERT_FILE": str(ca_file),
        }
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            FAL_SCRIPT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    report: dict[str, Any] = json.loads(out)
    assert report["statuses"] == [
        ["Queued", 1],
        ["Queued", 0],
        ["InProgress", None],
        ["Completed", None],
    ]
    assert report["status_url"].endswith(f"/fal-ai/flux/requests/{report['request_id']}/status")
    images = report["result"]["images"]
    assert [i["content_type"] for i in images] == ["image/png", "image/png"]
    assert report["result"]["seed"] == 5
    assert fake.cancels == [report["held"]]  # type: ignore[attr-defined]
    assert report["refused"] == 401
