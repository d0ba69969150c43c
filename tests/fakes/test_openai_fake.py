"""The loopback OpenAI fake, driven by the real ``openai`` SDK: what the SDK parses, the fake
speaks as the real API does (and so our own client is tested against the real protocol)."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from PIL import Image

from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import ChatShape, FakeOpenAI
from tests.fakes.pollinations import FakePollinations, jpeg_bytes


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


# --- edits and pictures in chat -------------------------------------------------------------


async def test_images_edit_with_several_pictures(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    pictures = [("a.png", png_bytes(1), "image/png"), ("b.jpg", jpeg_bytes(3), "image/jpeg")]
    answer = await client.images.edit(
        model="gpt-image-2", image=pictures, prompt="put them side by side", n=2, size="1536x1024"
    )
    assert answer.data is not None
    assert [base64.b64decode(item.b64_json or "") for item in answer.data] == [
        png_bytes(0),
        png_bytes(1),
    ]
    [call] = fake.edit_calls
    assert call.fields == {
        "model": "gpt-image-2",
        "prompt": "put them side by side",
        "n": "2",
        "size": "1536x1024",
    }
    assert [(p.name, p.filename, p.content_type, p.value) for p in call.pictures] == [
        ("image[]", "a.png", "image/png", png_bytes(1)),
        ("image[]", "b.jpg", "image/jpeg", jpeg_bytes(3)),
    ]
    assert call.authorization == f"Bearer {fake.api_key}"


async def test_images_edit_one_dall_e_2_picture_as_image(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    square = rgba_png(64, 64)
    answer = await client.images.edit(
        model="dall-e-2",
        image=("square.png", square, "image/png"),
        prompt="a hat",
        response_format="url",
    )
    assert answer.data is not None
    [item] = answer.data
    assert item.url is not None and item.url.startswith(fake.base_url)
    [picture] = fake.edit_calls[0].pictures
    assert (picture.name, picture.value) == ("image", square)


@pytest.mark.parametrize(
    ("model", "image", "complaint"),
    [
        ("gpt-image-2", [("a.png", png_bytes(0), "image/png")] * 17, "too many images"),
        ("gpt-image-2", [("a.gif", b"GIF89a...", "image/gif")], "unsupported mimetype"),
        ("dall-e-2", [("a.png", png_bytes(0), "image/png")] * 2, "exactly one image"),
        ("dall-e-2", ("a.jpg", jpeg_bytes(0), "image/jpeg"), "must be a PNG"),
    ],
)
async def test_images_edit_rules_are_enforced_as_bad_requests(
    client: openai.AsyncOpenAI, model: str, image: Any, complaint: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=complaint) as caught:
        await client.images.edit(model=model, image=image, prompt="x")
    assert caught.value.param == "image"


def rgba_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("picture", "complaint"),
    [(rgba_png(64, 32), "must be square"), (png_bytes(0), "format must be in .*got RGB")],
)
async def test_dall_e_2_takes_a_square_picture_with_alpha(
    client: openai.AsyncOpenAI, picture: bytes, complaint: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=complaint):
        await client.images.edit(
            model="dall-e-2", image=("a.png", picture, "image/png"), prompt="x"
        )


async def test_moderation_blocked_is_openais_error(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.fail("edits", "moderation")
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.edit(
            model="gpt-image-2", image=[("a.png", png_bytes(0), "image/png")], prompt="x"
        )
    assert caught.value.code == "moderation_blocked"
    assert "safety_violations=[violence]" in caught.value.message
    fake.fail("images", "moderation")
    with pytest.raises(openai.BadRequestError) as again:
        await client.images.generate(model="gpt-image-2", prompt="x")
    assert again.value.code == "moderation_blocked"


def picture_message(url: str) -> ChatCompletionMessageParam:
    return {
        "role": "user",
        "content": [
            {"type": "text", "text": "make it night"},
            {"type": "image_url", "image_url": {"url": url}},
        ],
    }


async def test_chat_with_the_image_modality_in_each_shape(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes(1)).decode()
    drawn = "data:image/png;base64," + base64.b64encode(png_bytes(0)).decode()
    seen: dict[str, Any] = {}
    shapes: list[ChatShape] = ["images", "images_url", "content", "markdown", "text"]
    for shape in [*shapes, "content_filter"]:
        fake.chat_shape = shape
        answer = await client.chat.completions.create(
            model="google/gemini-2.5-flash-image",
            messages=[picture_message(data_url)],
            modalities=["image", "text"],  # type: ignore[list-item]
        )
        [choice] = answer.choices
        seen[shape] = (choice.message.model_extra or {}).get("images"), choice.message.content
        if shape == "content_filter":
            assert choice.finish_reason == "content_filter"
    assert seen["images"][0] == [{"type": "image_url", "image_url": {"url": drawn}}]
    [item] = seen["images_url"][0]
    assert item["image_url"]["url"].startswith(f"{fake.base_url}/files/")
    assert seen["content"][1] == [
        {"type": "text", "text": "Here you are."},
        {"type": "image_url", "image_url": {"url": drawn}},
    ]
    assert f"![image 1]({drawn})" in seen["markdown"][1]
    assert seen["text"] == (None, fake.refusal_text)
    assert seen["content_filter"] == (None, None)
    assert all(call.images == [png_bytes(1)] for call in fake.chat_calls)
    assert fake.chat_calls[0].body["modalities"] == ["image", "text"]


async def test_an_unknown_modality_is_a_bad_request(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "x"}],
            modalities=["smell"],  # type: ignore[list-item]
        )
    assert caught.value.param == "modalities"


async def test_openrouters_moderation_answer_is_a_permission_error(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.fail("chat", "flagged")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "x"}],
            modalities=["image", "text"],  # type: ignore[list-item]
        )
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["metadata"]["reasons"] == ["violence"]
