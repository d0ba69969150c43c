"""An ``openai`` entry with ``image_api = "chat"`` (OpenRouter, Gemini): its image and edit
models draw through ``chat/completions`` with ``modalities: ["image", "text"]``, and the
pictures are read from each shape such answers come in."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from providers import (
    AuthError,
    ErrorCode,
    Event,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    Progress,
    ProviderContext,
    RateLimited,
    Registry,
    ResponseError,
    generate_images,
)
from providers.core.entry import ProviderConfig
from providers.core.errors import Refused
from providers.live.openai.chat_images import chat_pictures, shorten
from providers.live.openai.images import OpenAICompatible
from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import ChatShape, FakeOpenAI
from tests.fakes.pollinations import jpeg_bytes
from tests.helpers import provider_context

UPSTREAM = "google/gemini-2.5-flash-image"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def provider(fake: FakeOpenAI, key: str | None = None) -> OpenAICompatible:
    config = ProviderConfig(
        name="openrouter",
        type="openai",
        label="OpenRouter",
        base_url=fake.base_url,
        image_api="chat",
        image_models={"banana": UPSTREAM},
        edit_models={"banana-edit": UPSTREAM},
        vision_models=["gpt-4o-mini"],
    )
    return OpenAICompatible(config, SecretStr(key or fake.api_key or ""))


async def run(
    fake: FakeOpenAI,
    context: ProviderContext,
    pictures: list[Media] | None = None,
    *,
    via: OpenAICompatible | None = None,
    **options: Any,
) -> list[Event]:
    """Draws (no pictures) with openrouter/banana or edits with openrouter/banana-edit."""
    model, kind = ("openrouter/banana-edit", Kind.EDIT) if pictures else ("banana", Kind.IMAGE)
    entry = Registry([via or provider(fake)]).resolve(model, kind)
    request = ImageRequest(prompt="make it night", images=tuple(pictures or ()), **options)
    return [event async for event in generate_images(entry, request, context)]


def data_url(data: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


# --- what is sent ---------------------------------------------------------------------------


async def test_an_edit_sends_the_prompt_and_each_picture_as_a_data_url_part(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    pictures = [Media(jpeg_bytes(4), "a.jpg", "image/jpeg"), Media(png_bytes(2), "b.png")]
    events = await run(fake, context, pictures)

    [call] = fake.chat_calls
    assert call.body == {
        "model": UPSTREAM,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "make it night"},
                    {
                        "type": "image_url",
                        "image_url": {"url": data_url(jpeg_bytes(4), "image/jpeg")},
                    },
                    {"type": "image_url", "image_url": {"url": data_url(png_bytes(2))}},
                ],
            }
        ],
        "modalities": ["image", "text"],
    }
    assert call.images == [jpeg_bytes(4), png_bytes(2)]
    assert call.authorization == f"Bearer {fake.api_key}"
    assert fake.edit_calls == [] and fake.image_calls == []
    assert isinstance(events[0], Progress)
    assert events[-1] == ImageResponse(images=[png_bytes(0)], alt="make it night", model=UPSTREAM)


async def test_an_image_model_draws_through_the_same_call_without_pictures(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    events = await run(fake, context, aspect_ratio="16:9")
    [call] = fake.chat_calls
    assert call.body["messages"] == [{"role": "user", "content": "make it night"}]
    assert call.body["modalities"] == ["image", "text"]
    assert call.body["image_config"] == {"aspect_ratio": "16:9"}
    assert events[-1] == ImageResponse(images=[png_bytes(0)], alt="make it night", model=UPSTREAM)


async def test_no_aspect_ratio_sends_no_image_config(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    await run(fake, context, [Media(png_bytes(0))])
    assert "image_config" not in fake.chat_calls[0].body


# --- the answer's shapes --------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["images", "content", "markdown"])
@pytest.mark.parametrize("editing", [True, False])
async def test_pictures_are_read_from_every_shape(
    fake: FakeOpenAI, context: ProviderContext, shape: ChatShape, editing: bool
) -> None:
    fake.chat_shape = shape
    fake.chat_pictures = 2
    events = await run(fake, context, [Media(png_bytes(3))] if editing else None)
    final = events[-1]
    assert isinstance(final, ImageResponse)
    assert final.images == [png_bytes(0), png_bytes(1)]


async def test_a_picture_given_as_a_url_is_passed_on_as_a_url(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.chat_shape = "images_url"
    events = await run(fake, context, [Media(png_bytes(3))])
    final = events[-1]
    assert isinstance(final, ImageResponse)
    [url] = final.images
    assert isinstance(url, str) and url.startswith(f"{fake.base_url}/files/")
    assert await context.http.read(url, provider="OpenRouter") == png_bytes(0)


def test_odd_but_readable_shapes() -> None:
    b64 = base64.b64encode(png_bytes(1)).decode()
    answer = {
        "choices": [
            {
                "message": {
                    "content": [
                        {"type": "text", "text": "one ![a](https://cdn.example/a.png) two"},
                        {"type": "image_url", "image_url": f"data:image/png;base64,{b64}"},
                    ],
                    "images": [{"image_url": {"url": "https://cdn.example/b.webp"}}],
                }
            }
        ]
    }
    assert chat_pictures(answer, "X") == [
        "https://cdn.example/b.webp",
        "https://cdn.example/a.png",
        png_bytes(1),
    ]
    wrapped = f"![x](data:image/png;base64,{b64[:40]}\n{b64[40:]})"
    assert chat_pictures({"choices": [{"message": {"content": wrapped}}]}, "X") == [png_bytes(1)]


# --- words instead of a picture, refusals ---------------------------------------------------


async def test_words_without_a_picture_are_a_failure_quoting_them(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.chat_shape = "text"
    fake.refusal_text = "I cannot draw that. " + "It would show a very long scene " * 20
    with pytest.raises(ResponseError) as caught:
        await run(fake, context, [Media(png_bytes(0))])
    assert caught.value.code == ErrorCode.ANSWERED_WITHOUT_PICTURE
    reason = str(caught.value.params["reason"])
    assert reason.startswith("I cannot draw that. It would show")
    assert reason.endswith("…") and len(reason) <= 200
    assert caught.value.user_message.startswith(
        "OpenRouter: answered in words, without a picture: I cannot draw that."
    )


async def test_a_short_answer_in_words_is_quoted_whole(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.chat_shape = "text"
    fake.refusal_text = "Sorry, I can only talk."
    with pytest.raises(ResponseError) as caught:
        await run(fake, context)
    assert caught.value.params == {"reason": "Sorry, I can only talk."}


def test_an_answer_with_neither_words_nor_pictures_sent_no_pictures() -> None:
    with pytest.raises(ResponseError) as caught:
        chat_pictures({"choices": [{"message": {"content": ""}, "finish_reason": "stop"}]}, "X")
    assert caught.value.code == ErrorCode.NO_PICTURES


async def test_a_content_filter_is_a_refusal(fake: FakeOpenAI, context: ProviderContext) -> None:
    fake.chat_shape = "content_filter"
    with pytest.raises(Refused) as caught:
        await run(fake, context, [Media(png_bytes(0))])
    assert caught.value.code == ErrorCode.MODERATION
    assert (
        caught.value.user_message == "OpenRouter: refused this request (its moderation flagged it)"
    )


@pytest.mark.parametrize(
    "choice",
    [
        {
            "message": {"content": "No."},
            "finish_reason": "stop",
            "native_finish_reason": "IMAGE_SAFETY",
        },
        {
            "message": {"content": None, "refusal": "I can't help with that."},
            "finish_reason": "stop",
        },
    ],
)
def test_a_safety_finish_or_a_refusal_is_a_refusal(choice: dict[str, Any]) -> None:
    with pytest.raises(Refused):
        chat_pictures({"choices": [choice]}, "X")


@pytest.mark.parametrize(
    ("fault", "code", "reason"),
    [
        ("flagged", ErrorCode.MODERATION_REASON, "violence"),
        ("moderation", ErrorCode.MODERATION_REASON, "violence"),
        ("policy", ErrorCode.CONTENT_POLICY, None),
    ],
)
async def test_moderation_errors_are_refusals(
    fake: FakeOpenAI, context: ProviderContext, fault: Any, code: ErrorCode, reason: str | None
) -> None:
    fake.fail("chat", fault)
    with pytest.raises(Refused) as caught:
        await run(fake, context, [Media(png_bytes(0))])
    assert caught.value.code == code
    assert caught.value.params.get("reason") == reason
    assert "flagged for violence" not in caught.value.user_message  # not the upstream's words


def test_an_error_in_a_200_answer_is_mapped() -> None:
    with pytest.raises(Refused):
        chat_pictures({"error": {"code": 403, "metadata": {"reasons": ["hate"]}}}, "X")
    with pytest.raises(ResponseError, match="could not read"):
        chat_pictures(["not", "a", "completion"], "X")


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("short", 200) == "short"
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("x" * 300, 10) == "x" * 9 + "…"


# --- refused before any request, and the key ------------------------------------------------


@pytest.mark.parametrize(
    ("count", "options", "code"),
    [
        (9, {}, ErrorCode.PICTURE_COUNT),
        (1, {"strength": 0.4}, ErrorCode.NO_STRENGTH),
        (1, {"n": 2}, ErrorCode.ONE_IMAGE),
        (1, {"aspect_ratio": "5:1"}, ErrorCode.RATIOS),
    ],
)
async def test_what_a_chat_model_cannot_take_is_refused_before_any_request(
    fake: FakeOpenAI,
    context: ProviderContext,
    count: int,
    options: dict[str, Any],
    code: ErrorCode,
) -> None:
    with pytest.raises(InvalidOption) as caught:
        await run(fake, context, [Media(png_bytes(0))] * count, **options)
    assert caught.value.code == code
    assert fake.requests == []


async def test_a_picture_that_is_not_an_image_is_refused_before_any_request(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    with pytest.raises(InvalidOption):
        await run(fake, context, [Media(b"%PDF-1.7", "a.pdf")])
    assert fake.requests == []


async def test_the_key_never_appears_in_errors_or_logs(
    fake: FakeOpenAI, context: ProviderContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "test-or-wrong-key-that-must-not-leak-99"
    with pytest.raises(AuthError) as caught:
        await run(fake, context, [Media(png_bytes(0))], via=provider(fake, key=wrong))
    assert wrong not in caught.value.user_message and wrong not in repr(caught.value)
    assert wrong not in caplog.text
    fake.fail("chat", "402")  # the fake's answer quotes the key it got
    with pytest.raises(RateLimited) as again:
        await run(fake, context)
    assert fake.api_key is not None and fake.api_key not in again.value.user_message
