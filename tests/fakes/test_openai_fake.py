"""The loopback OpenAI fake, driven by the real ``openai`` SDK: what the SDK parses, the fake
speaks as the real API does (and so our own client is tested against the real protocol)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import openai
import pytest

from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.pollinations import FakePollinations


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=fake.base_url, api_key=fake.api_key, max_retries=0
    ) as sdk:
        yield sdk


async def test_images_generate_b64(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    answer = await client.images.generate(
        model="gpt-image-1", prompt="a fox", n=2, size="1536x1024"
    )
    assert answer.data is not None
    assert [base64.b64decode(item.b64_json or "") for item in answer.data] == [
        png_bytes(0),
        png_bytes(1),
    ]
    assert fake.image_calls[0].authorization == f"Bearer {fake.api_key}"


async def test_images_generate_url(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    answer = await client.images.generate(
        model="dall-e-3", prompt="a fox", size="1792x1024", response_format="url"
    )
    assert answer.data is not None
    [item] = answer.data
    assert item.url is not None and item.url.startswith(fake.base_url)
    assert item.b64_json is None


async def test_images_rules_are_enforced_as_bad_requests(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model="gpt-image-1", prompt="x", response_format="url")
    assert caught.value.param == "response_format"
    with pytest.raises(openai.BadRequestError):
        await client.images.generate(model="dall-e-3", prompt="x", size="1536x1024")


async def test_chat_stream_with_an_image(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    url = "data:image/png;base64," + base64.b64encode(png_bytes(3)).decode()
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
        stream=True,
    )
    pieces: list[str] = []
    finish: list[str | None] = []
    async for chunk in stream:
        pieces.append(chunk.choices[0].delta.content or "")
        finish.append(chunk.choices[0].finish_reason)
    assert "".join(pieces) == fake.answer
    assert finish[-1] == "stop"
    assert fake.chat_calls[0].question == "what is this?"
    assert fake.chat_calls[0].images == [png_bytes(3)]


async def test_chat_without_streaming(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    answer = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
    )
    assert answer.choices[0].message.content == fake.answer
    assert answer.choices[0].finish_reason == "stop"


async def test_a_bare_string_image_url_is_refused_as_openai_does(
    client: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError, match="expected an object"):
        await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": "data:image/png;base64,AA=="}],  # type: ignore[list-item, typeddict-item]
                }
            ],
        )


async def test_error_answers_are_the_sdks_error_types(fake: FakeOpenAI) -> None:
    async with openai.AsyncOpenAI(
        base_url=fake.base_url, api_key="sk-wrong", max_retries=0
    ) as wrong:
        with pytest.raises(openai.AuthenticationError):
            await wrong.images.generate(model="gpt-image-1", prompt="x")
    async with openai.AsyncOpenAI(
        base_url=fake.base_url, api_key=fake.api_key, max_retries=0
    ) as sdk:
        fake.fail("images", "429")
        with pytest.raises(openai.RateLimitError) as limited:
            await sdk.images.generate(model="gpt-image-1", prompt="x")
        assert limited.value.response.headers["retry-after"] == fake.retry_after
        fake.fail("chat", "quota")
        with pytest.raises(openai.RateLimitError) as quota:
            await sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
            )
        assert quota.value.code == "insufficient_quota"
        fake.fail("chat", "500")
        with pytest.raises(openai.InternalServerError):
            await sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
            )


async def test_pollinations_chat_speaks_the_same_protocol() -> None:
    async with (
        FakePollinations() as fake,
        openai.AsyncOpenAI(base_url=f"{fake.url}/v1", api_key=fake.api_key, max_retries=0) as sdk,
    ):
        stream = await sdk.chat.completions.create(
            model="openai", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
        assert text == fake.answer
