"""/imagine through fal and Replicate end to end, and /cancel reaching their cancel endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.storage.records import JobStatus
from tests.e2e.conftest import World, runtime
from tests.fakes.fal import FakeFal
from tests.fakes.prodia import png_bytes
from tests.fakes.replicate import FakeReplicate

USER = 777
FAL_KEY = "fal-e2e-secret-key-31"
TOKEN = "r8_e2e_secret_token_31"


@dataclass
class Queues:
    fal: FakeFal
    replicate: FakeReplicate

    def overrides(self, **more: Any) -> dict[str, Any]:
        """Bot settings with both providers pointed at the fakes, fal's schnell the default."""
        return {
            "fal_key": FAL_KEY,
            "fal_queue_url": self.fal.url,
            "replicate_api_token": TOKEN,
            "replicate_api_url": self.replicate.api,
            "default_image_model": "fal/flux-schnell",
            "allow_private_urls": True,
            **more,
        }


@pytest.fixture
async def queues() -> AsyncIterator[Queues]:
    async with FakeFal(key=FAL_KEY) as fal, FakeReplicate(token=TOKEN) as replicate:
        yield Queues(fal, replicate)  # type: ignore[arg-type]


async def test_imagine_draws_with_fal_by_default(world: World, queues: Queues) -> None:
    tg = world.tg
    async with world.bot(**queues.overrides()):
        command = tg.send_text(USER, "/imagine a fox on a roof --n 2 --ar 16:9")
        photos = await world.photos_for(USER, command, 2)
        assert [p.photo for p in photos] == [png_bytes(2, 2), png_bytes(3, 2)]
        [(app, body)] = queues.fal.submissions
        caption = photos[0].caption
        assert caption and caption.endswith(f"🎨 fal/flux-schnell · seed {body['seed']}")
        assert app == "fal-ai/flux/schnell"
        assert (body["num_images"], body["image_size"]) == (2, "landscape_16_9")
    assert FAL_KEY not in str([c.params for c in tg.calls("sendMediaGroup")])


async def test_the_status_shows_the_place_in_fals_queue(world: World, queues: Queues) -> None:
    tg, fal = world.tg, queues.fal
    fal.queue_ahead, fal.queue_frozen = 2, True
    async with world.bot(**queues.overrides()):
        command = tg.send_text(USER, "/imagine a fox in a queue")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "(#3 in fal's queue)" in (status.text or ""))
        fal.queue_frozen = False
        await world.photos_for(USER, command, 1)


async def test_imagine_draws_with_replicate(world: World, queues: Queues) -> None:
    tg = world.tg
    async with world.bot(**queues.overrides()):
        command = tg.send_text(USER, "/imagine a fox --model replicate/flux-schnell --seed 5")
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.photo == png_bytes(3, 3)
        assert photo.caption and photo.caption.endswith("🎨 replicate/flux-schnell · seed 5")
        [(path, body, prefer)] = queues.replicate.creations
        assert path == "/v1/models/black-forest-labs/flux-schnell/predictions"
        assert body["input"]["seed"] == 5 and prefer and prefer.startswith("wait=")


async def test_cancel_during_a_fal_job_cancels_it_at_fal(
    world: World, queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tg, fal = world.tg, queues.fal
    fal.queue_ahead, fal.progress_polls = 0, 10**6  # drawing until cancelled
    async with world.bot(**queues.overrides()) as app:
        command = tg.send_text(USER, "/imagine a fox that takes forever")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "drawing with fal/flux-schnell" in (status.text or ""))
        cancel = tg.send_text(USER, "/cancel")
        reply = await world.reply_to(USER, cancel, lambda m: True)
        assert reply.text == "Cancelling 1 job."
        await tg.wait_for(lambda: status.text == "⏹ Stopped: cancelled by you.")
        (request_id,) = fal.requests_by_id
        await tg.wait_for(lambda: fal.cancels == [request_id])
        job = await runtime(app).storage.get_job(1)
        assert job is not None and job.status == JobStatus.CANCELLED
        assert job.upstream_job_id and request_id in job.upstream_job_id
        assert not [
            m for m in tg.bot_messages(USER) if m.reply_to == command["message_id"] and m.photo
        ]
    assert caplog.text and FAL_KEY not in caplog.text


async def test_cancel_during_a_replicate_job_cancels_the_prediction(
    world: World, queues: Queues
) -> None:
    tg, replicate = world.tg, queues.replicate
    replicate.starting_polls = 10**6  # the model never boots
    async with world.bot(**queues.overrides(default_image_model="replicate/flux-schnell")):
        command = tg.send_text(USER, "/imagine a patient fox")
        status = await world.status_of(USER, command)
        await tg.wait_for(
            lambda: "waiting in line at replicate/flux-schnell" in (status.text or "")
        )
        tg.send_text(USER, "/cancel")
        await tg.wait_for(lambda: status.text == "⏹ Stopped: cancelled by you.")
        (prediction_id,) = replicate.predictions
        await tg.wait_for(lambda: replicate.cancels == [prediction_id])
        assert replicate.predictions[prediction_id].status == "canceled"


async def test_an_out_of_credit_fal_account_is_explained(world: World, queues: Queues) -> None:
    tg = world.tg
    queues.fal.submit_status = 403  # "User is locked. Reason: Exhausted balance..."
    # FALLBACK_IMAGE_MODELS (DESIGN.md) would otherwise draw with another provider instead.
    async with world.bot(**queues.overrides(fallback_image_models="none")):
        command = tg.send_text(USER, "/imagine a fox")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "out of credit" in (status.text or ""))
        assert status.text and status.text.startswith("⚠️ fal: ")
        assert FAL_KEY not in status.text
