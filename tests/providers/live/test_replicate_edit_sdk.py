"""The Replicate fake's edit endpoints checked against Replicate's own client (``replicate``):
it uploads through the fake's files API, reads a model's published schema from it, hands a
prediction a file or a data URL the fake decodes to the same bytes, and sees E005 failures."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from replicate.client import Client
from replicate.exceptions import ModelError
from replicate.model import Model

from tests.fakes.fal import DataUrl
from tests.fakes.prodia import png_bytes
from tests.fakes.replicate import LIST_INPUT, SENSITIVE, FakeReplicate

TOKEN = "r8_sdk_edit_token_123"
PNG = png_bytes(7, 5)


@pytest.fixture
async def fake() -> AsyncIterator[FakeReplicate]:
    server = FakeReplicate(token=TOKEN)
    server.starting_polls = server.processing_polls = 0
    async with server:
        yield server


@pytest.fixture
def client(fake: FakeReplicate) -> Client:
    sdk = Client(api_token=TOKEN, base_url=fake.url)
    sdk.poll_interval = 0.01
    return sdk


async def test_replicate_sdk_uploads_a_file_and_reads_it_back(
    fake: FakeReplicate, client: Client
) -> None:
    created = await client.files.async_create(
        io.BytesIO(PNG), filename="photo.png", content_type="image/png"
    )
    (upload,) = fake.uploads.values()
    assert (upload.data, upload.filename, upload.content_type) == (PNG, "photo.png", "image/png")
    assert created.id == upload.id and created.size == len(PNG)
    assert created.urls["get"] == fake.file_url(upload)
    fetched = await client.files.async_get(created.id)
    assert fetched.name == "photo.png" and fetched.content_type == "image/png"


async def test_replicate_sdk_reads_a_models_input_schema(
    fake: FakeReplicate, client: Client
) -> None:
    fake.schemas["google/nano-banana"] = LIST_INPUT
    kontext = await client.models.async_get("black-forest-labs/flux-kontext-pro")
    banana = await client.models.async_get("google", "nano-banana")

    def properties(model: Model) -> dict[str, dict[str, object]]:
        assert model.latest_version is not None
        found: dict[str, dict[str, object]] = model.latest_version.openapi_schema["components"][
            "schemas"
        ]["Input"]["properties"]
        return found

    assert kontext.id == "black-forest-labs/flux-kontext-pro"
    assert properties(kontext)["input_image"]["format"] == "uri"
    assert properties(banana)["image_input"]["type"] == "array"
    assert fake.schema_fetches == [
        "/v1/models/black-forest-labs/flux-kontext-pro",
        "/v1/models/google/nano-banana",
    ]


async def test_replicate_sdk_sends_a_file_input_through_the_files_api(
    fake: FakeReplicate, client: Client
) -> None:
    prediction = await client.models.predictions.async_create(
        model="black-forest-labs/flux-kontext-pro",
        input={"prompt": "make it snow", "input_image": io.BytesIO(PNG)},
    )
    (upload,) = fake.uploads.values()
    assert prediction.input is not None
    assert prediction.input["input_image"] == fake.file_url(upload)
    assert fake.predictions[prediction.id].pictures == {
        "input_image": DataUrl(upload.content_type, PNG)
    }


async def test_replicate_sdk_sends_data_urls_in_a_list_field(
    fake: FakeReplicate, client: Client
) -> None:
    fake.schemas["google/nano-banana"] = LIST_INPUT
    second = png_bytes(2, 9)
    prediction = await client.models.predictions.async_create(
        model="google/nano-banana",
        input={"prompt": "combine", "image_input": [io.BytesIO(PNG), io.BytesIO(second)]},
        file_encoding_strategy="base64",
    )
    assert fake.uploads == {}
    pictures = fake.predictions[prediction.id].pictures["image_input"]
    assert isinstance(pictures, list) and [p.data for p in pictures] == [PNG, second]


async def test_replicate_sdk_sees_a_moderation_failure(fake: FakeReplicate, client: Client) -> None:
    fake.fail_next = SENSITIVE
    with pytest.raises(ModelError) as failed:
        await client.async_run(
            "black-forest-labs/flux-kontext-pro",
            input={"prompt": "x", "input_image": "data:image/png;base64,iVBORw0KGgo="},
        )
    assert failed.value.prediction.error == SENSITIVE
    assert failed.value.prediction.status == "failed"
