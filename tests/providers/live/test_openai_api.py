"""The ``openai`` provider type against a loopback OpenAI-compatible API."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from providers import (
    AuthError,
    Event,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    Progress,
    ProviderContext,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    TextDelta,
    TextResponse,
    ask_vision,
    generate_images,
)
from providers.core.entry import ConfigError, ProviderConfig
from providers.core.errors import Refused
from providers.live.openai.images import OpenAICompatible, image_results
from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.server import FakeServer
from tests.helpers import provider_context

IMAGE_MODELS = ["gpt-image-1", "dall-e-3", "dall-e-2", "flux=black-forest-labs/FLUX.1-schnell"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path) as ctx:
        yield ctx


def provider(fake: FakeOpenAI, key: str | None = None, **fields: Any) -> OpenAICompatible:
    values: dict[str, Any] = {
        "name": "openai",
        "type": "openai",
        "label": "OpenAI",
        "base_url": fake.base_url,
        "image_models": IMAGE_MODELS,
        "vision_models": ["gpt-4o-mini"],
        **fields,
    }
    return OpenAICompatible(ProviderConfig(**values), SecretStr(key or fake.api_key or ""))


async def draw(
    fake: FakeOpenAI,
    context: ProviderContext,
    model: str = "openai/gpt-image-1",
    prompt: str = "a fox in the snow",
    *,
    via: OpenAICompatible | None = None,
    **options: Any,
) -> list[Event]:
    entry = Registry([via or provider(fake)]).resolve(model, Kind.IMAGE)
    request = ImageRequest(prompt=prompt, **options)
    return [event async for event in generate_images(entry, request, context)]


async def ask(
    fake: FakeOpenAI,
    context: ProviderContext,
    media: list[Media] | None = None,
    question: str = "What is in this picture?",
    *,
    via: OpenAICompatible | None = None,
) -> list[Event]:
    entry = Registry([via or provider(fake)]).resolve("openai/gpt-4o-mini", Kind.VISION)
    return [event async for event in ask_vision(entry, question, media or [], context)]


# --- images: what is sent -------------------------------------------------------------------


async def test_a_gpt_image_request_carries_model_prompt_n_size_and_the_key(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    events = await draw(fake, context, aspect_ratio="3:2", n=2)

    [call] = fake.image_calls
    assert call.body == {
        "model": "gpt-image-1",
        "prompt": "a fox in the snow",
        "n": 2,
        "size": "1536x1024",
    }
    assert call.authorization == f"Bearer {fake.api_key}"
    assert isinstance(events[0], Progress)
    assert events[-1] == ImageResponse(
        images=[png_bytes(0), png_bytes(1)], alt="a fox in the snow", model="gpt-image-1"
    )


@pytest.mark.parametrize(
    ("model", "aspect_ratio", "size"),
    [
        ("gpt-image-1", None, "1024x1024"),
        ("gpt-image-1", "2:3", "1024x1536"),
        ("dall-e-3", "16:9", "1792x1024"),
        ("dall-e-3", "9:16", "1024x1792"),
        ("dall-e-2", "1:1", "1024x1024"),
        ("flux", None, "1024x1024"),
        ("flux", "16:9", "1344x768"),
        ("flux", "3:4", "896x1152"),
    ],
)
async def test_size_is_the_allowed_one_closest_to_the_aspect_ratio(
    fake: FakeOpenAI, context: ProviderContext, model: str, aspect_ratio: str | None, size: str
) -> None:
    await draw(fake, context, f"openai/{model}", aspect_ratio=aspect_ratio)
    assert fake.image_calls[0].body["size"] == size


async def test_sizes_listed_by_the_entry_replace_the_megapixel_guess(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    via = provider(fake, sizes=["1024x1024", "1280x720", "720x1280"])
    entry = Registry([via]).resolve("openai/flux")
    assert entry.options is not None
    assert entry.options.aspect_ratios == ("1:1", "16:9", "9:16")
    await draw(fake, context, "openai/flux", via=via, aspect_ratio="9:16")
    assert fake.image_calls[0].body["size"] == "720x1280"


def test_a_size_that_is_not_w_x_h_stops_the_start(fake: FakeOpenAI) -> None:
    with pytest.raises(ConfigError, match=r"openai: sizes: .*'big'"):
        provider(fake, sizes=["big"])


@pytest.mark.parametrize(
    ("model", "options", "complaint"),
    [
        ("gpt-image-1", {"aspect_ratio": "16:9"}, "supports the aspect ratios 1:1, 3:2, 2:3"),
        ("dall-e-3", {"n": 2}, "makes one image at a time"),
        ("dall-e-2", {"aspect_ratio": "3:2"}, "supports the aspect ratios 1:1"),
        ("gpt-image-1", {"n": 5}, "makes 1 to 4 images"),
        ("gpt-image-1", {"seed": 7}, "does not take a seed"),
        ("flux", {"negative_prompt": "blur"}, "does not take a negative prompt"),
        ("flux", {"steps": 20}, "does not take a number of steps"),
        ("flux", {"cfg": 3.5}, "does not take a guidance scale"),
    ],
)
async def test_options_the_model_cannot_honour_are_refused_before_any_request(
    fake: FakeOpenAI,
    context: ProviderContext,
    model: str,
    options: dict[str, Any],
    complaint: str,
) -> None:
    with pytest.raises(InvalidOption, match=complaint):
        await draw(fake, context, f"openai/{model}", **options)
    assert fake.requests == []


async def test_response_format_is_sent_only_when_the_entry_sets_it(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    await draw(fake, context, "openai/dall-e-3")
    assert "response_format" not in fake.image_calls[0].body

    via = provider(fake, image_models=["dall-e-3"], response_format="url")
    events = await draw(fake, context, "openai/dall-e-3", via=via)
    assert fake.image_calls[1].body["response_format"] == "url"
    final = events[-1]
    assert isinstance(final, ImageResponse)
    [url] = final.images
    assert isinstance(url, str) and url.startswith(fake.base_url)
    assert await context.http.read(url, provider="OpenAI") == png_bytes(0)


async def test_url_results_are_passed_on_as_urls(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.image_format = "url"
    events = await draw(fake, context, "openai/flux", n=3)
    final = events[-1]
    assert isinstance(final, ImageResponse)
    assert len(final.images) == 3
    assert all(isinstance(image, str) for image in final.images)
    assert final.model == "black-forest-labs/FLUX.1-schnell"
    assert fake.image_calls[0].body["model"] == "black-forest-labs/FLUX.1-schnell"


# --- images: failures -----------------------------------------------------------------------

ERRORS: list[tuple[str, type[ProviderError], str]] = [
    ("401", AuthError, "refused our API key"),
    ("402", RateLimited, "no quota or credit"),
    ("429", RateLimited, "try again in 7 seconds"),
    ("quota", RateLimited, "no quota or credit"),
    ("500", ProviderUnavailable, "is having trouble (HTTP 500)"),
    ("policy", Refused, "content policy"),
    ("moderation", Refused, "its moderation flagged it: violence"),
    ("malformed", ResponseError, "could not read"),
]


@pytest.mark.parametrize(("fault", "error", "text"), ERRORS)
async def test_image_failures_become_the_matching_error_without_the_key(
    fake: FakeOpenAI,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
    fault: Any,
    error: type[ProviderError],
    text: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("images", fault)
    with pytest.raises(error) as caught:
        await draw(fake, context)
    assert type(caught.value) is error
    assert text in caught.value.user_message
    assert caught.value.user_message.startswith("OpenAI: ")
    assert fake.api_key is not None
    assert fake.api_key not in caught.value.user_message
    assert fake.api_key not in repr(caught.value)
    assert fake.api_key not in caplog.text


async def test_rate_limits_carry_the_retry_after(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.retry_after = "2.5"
    fake.fail("images", "429")
    with pytest.raises(RateLimited) as caught:
        await draw(fake, context)
    assert caught.value.retry_after == 2.5


async def test_a_wrong_key_is_refused_and_not_repeated(
    fake: FakeOpenAI, context: ProviderContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-key-that-must-not-leak-42"
    with pytest.raises(AuthError) as caught:
        await draw(fake, context, via=provider(fake, key=wrong))
    assert fake.image_calls == []
    assert wrong not in str(caught.value) and wrong not in caplog.text


async def test_a_base_url_without_v1_is_a_clear_rejection(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    via = provider(fake, base_url=fake.url)  # the server answers 404
    with pytest.raises(ResponseError, match="rejected the request \\(HTTP 404\\)"):
        await draw(fake, context, via=via)


def test_pictures_come_from_b64_json_urls_and_data_urls_alike() -> None:
    b64 = base64.b64encode(png_bytes(0)).decode()
    data = {
        "data": [
            {"b64_json": b64},
            {"url": "https://cdn.example/x.png"},
            {"url": f"data:image/png;base64,{b64}"},
        ]
    }
    assert image_results(data, "OpenAI") == [
        png_bytes(0),
        "https://cdn.example/x.png",
        png_bytes(0),
    ]


@pytest.mark.parametrize(
    "data",
    [{}, {"data": []}, {"data": [{"url": "ftp://x"}]}, [], {"data": [{"revised_prompt": "x"}]}],
)
def test_an_answer_without_pictures_is_a_response_error(data: Any) -> None:
    with pytest.raises(ResponseError, match="sent no pictures"):
        image_results(data, "OpenAI")


def test_a_picture_that_is_not_base64_is_a_response_error() -> None:
    with pytest.raises(ResponseError, match="could not decode"):
        image_results({"data": [{"b64_json": "not base64!"}]}, "OpenAI")


def test_the_key_is_not_in_the_providers_repr(fake: FakeOpenAI) -> None:
    via = provider(fake)
    assert fake.api_key is not None
    assert fake.api_key not in repr(via)
    assert fake.api_key not in repr(via.endpoint)


# --- vision ---------------------------------------------------------------------------------


async def test_a_photo_question_sends_the_image_as_a_data_url_object_and_streams_the_answer(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    events = await ask(fake, context, [Media(png_bytes(2), "cat.jpg", "image/jpeg")])

    [call] = fake.chat_calls
    assert call.body["stream"] is True
    assert call.body["model"] == "gpt-4o-mini"
    [message] = call.body["messages"]
    text, image = message["content"]
    assert text == {"type": "text", "text": "What is in this picture?"}
    assert image["type"] == "image_url"
    assert isinstance(image["image_url"], dict)
    assert image["image_url"]["url"].startswith("data:image/png;base64,")  # sniffed, not named
    assert call.images == [png_bytes(2)]
    assert call.authorization == f"Bearer {fake.api_key}"

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    assert "".join(deltas) == fake.answer
    assert events[-1] == TextResponse(fake.answer, "gpt-4o-mini")


async def test_a_question_without_a_photo_is_plain_text(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    events = await ask(fake, context, question="What is a fox?")
    assert fake.chat_calls[0].body["messages"] == [{"role": "user", "content": "What is a fox?"}]
    assert events[-1] == TextResponse(fake.answer, "gpt-4o-mini")


async def test_a_server_that_does_not_stream_still_answers(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.ignore_stream = True
    events = await ask(fake, context, [Media(png_bytes(0))])
    assert events == [TextResponse(fake.answer, "gpt-4o-mini")]


async def test_an_answer_split_inside_a_character_arrives_whole(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.answer = "Кот на подоконнике 🐈"
    fake.pieces = ["Ко", "т на ", "подоконнике", " 🐈"]
    events = await ask(fake, context)
    assert [e.text for e in events if isinstance(e, TextDelta)] == fake.pieces
    assert events[-1] == TextResponse(fake.answer, "gpt-4o-mini")


@pytest.mark.parametrize(
    ("fault", "text"),
    [
        ("cut", "broke off its answer"),
        ("eof", "stopped answering mid-way"),
        ("stream_error", "is having trouble"),
    ],
)
async def test_a_stream_that_stops_mid_answer_is_a_failure_not_a_short_answer(
    fake: FakeOpenAI, context: ProviderContext, fault: Any, text: str
) -> None:
    fake.answer = "one two three four five six"
    fake.fail("chat", fault)
    entry = Registry([provider(fake)]).resolve("openai/gpt-4o-mini", Kind.VISION)
    seen: list[Event] = []
    with pytest.raises(ProviderUnavailable) as caught:
        async for event in ask_vision(entry, "count", [], context):
            seen.append(event)
    assert caught.value.user_message.startswith("OpenAI: ")
    assert text in caught.value.user_message
    assert seen and all(isinstance(e, TextDelta) for e in seen)
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) != fake.answer


@pytest.mark.parametrize(("fault", "error", "text"), ERRORS)
async def test_vision_failures_become_the_matching_error_without_the_key(
    fake: FakeOpenAI,
    context: ProviderContext,
    caplog: pytest.LogCaptureFixture,
    fault: Any,
    error: type[ProviderError],
    text: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("chat", fault)
    with pytest.raises(error) as caught:
        await ask(fake, context, [Media(png_bytes(1))])
    assert type(caught.value) is error
    assert text in caught.value.user_message
    assert fake.api_key is not None
    assert fake.api_key not in caught.value.user_message
    assert fake.api_key not in caplog.text


async def test_a_filtered_answer_is_a_refusal_not_a_provider_failure(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.finish_reason = "content_filter"
    with pytest.raises(Refused) as caught:
        await ask(fake, context, [Media(png_bytes(1))])
    assert caught.value.user_message == "OpenAI: refused to answer (content filter)"


@pytest.mark.parametrize(
    ("media", "complaint"),
    [(Media(b""), "empty"), (Media(b"%PDF-1.7 not a picture", "a.pdf"), "JPEG, PNG")],
)
async def test_an_unreadable_photo_is_refused_before_any_request(
    fake: FakeOpenAI, context: ProviderContext, media: Media, complaint: str
) -> None:
    with pytest.raises(InvalidOption, match=complaint):
        await ask(fake, context, [media])
    assert fake.requests == []


async def test_an_empty_answer_is_a_response_error(
    fake: FakeOpenAI, context: ProviderContext
) -> None:
    fake.answer, fake.pieces = "", []
    with pytest.raises(ResponseError, match="empty answer"):
        await ask(fake, context)


async def test_a_stream_that_goes_silent_times_out(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.fail("chat", "stall")
    async with provider_context(tmp_path, read_timeout=0.2) as context:
        with pytest.raises(ProviderTimeout, match="took too long"):
            await ask(fake, context)


# --- the PROXY setting ----------------------------------------------------------------------


class ForwardProxy(FakeServer):
    """A plain-HTTP forward proxy that passes the client's headers on; records each URL."""

    def __init__(self) -> None:
        super().__init__()
        self.forwarded: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{tail:.*}", self._forward)]

    async def _forward(self, request: web.Request) -> web.Response:
        self.forwarded.append(str(request.url))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, request.url, data=await request.read(), headers=headers
            ) as answer,
        ):
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type=answer.content_type)


HOP_BY_HOP = {"host", "proxy-connection", "connection", "content-length", "transfer-encoding"}


async def test_images_and_questions_go_through_the_proxy_setting(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    async with (
        ForwardProxy() as proxy,
        provider_context(tmp_path, proxy=proxy.url) as context,
    ):
        fake.ignore_stream = True
        events = await draw(fake, context)
        assert isinstance(events[-1], ImageResponse)
        answer = await ask(fake, context)
        assert answer[-1] == TextResponse(fake.answer, "gpt-4o-mini")
    assert proxy.forwarded == [  # type: ignore[attr-defined]
        f"{fake.base_url}/images/generations",
        f"{fake.base_url}/chat/completions",
    ]
    assert fake.image_calls[0].authorization == f"Bearer {fake.api_key}"
