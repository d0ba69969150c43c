"""Dynaspark against a loopback fake of /generate_response, plus image type sniffing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses
from PIL import Image

from providers import (
    Event,
    InvalidOption,
    Kind,
    Media,
    ProviderContext,
    ProviderSettings,
    ProviderUnavailable,
    RateLimited,
    Registry,
    ResponseError,
    TextResponse,
    UnknownModel,
    ask_vision,
)
from providers.core.media import image_extension, image_filename, sniff_image_type
from providers.core.types import Message
from providers.seeds.dynaspark import Dynaspark, conversation_prompt
from tests.fakes.dynaspark import FakeDynaspark, parse_multipart
from tests.helpers import MockResponse, provider_context

QUESTION: list[Message] = [{"role": "user", "content": "What is in this picture?"}]
MODELS = ["gemini-1.5-flash", "gemini-1.5-flash-8b", "gemini-2.0-flash", "gemini-2.0-flash-lite"]


def encode(fmt: str, size: tuple[int, int] = (3, 2)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color=(200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDynaspark]:
    async with FakeDynaspark() as server:
        yield server


@pytest.fixture
async def context(tmp_path: Path, fake: FakeDynaspark) -> AsyncIterator[ProviderContext]:
    async with provider_context(tmp_path, dynaspark_api_url=fake.url) as ctx:
        yield ctx


async def ask(
    context: ProviderContext,
    model: str = "gemini-1.5-flash",
    messages: Sequence[Message] = QUESTION,
    **kwargs: Any,
) -> list[Event]:
    return [
        event
        async for event in Dynaspark.create_async_generator(
            model, messages, context=context, **kwargs
        )
    ]


# --- requests the upstream receives ---------------------------------------------------------


async def test_image_question(fake: FakeDynaspark, context: ProviderContext) -> None:
    jpeg = encode("JPEG")
    events = await ask(context, media=[Media(jpeg, filename="cat.jpg")])

    assert events == [TextResponse("A red square on a white background.", "gemini-1.5-flash")]
    (submission,) = fake.submissions
    assert submission.content_type == "multipart/form-data"
    assert submission.user_input == "What is in this picture?"
    assert submission.ai_model == "gemini-1.5-flash"
    assert submission.file is not None
    assert submission.file.value == jpeg
    assert submission.file.filename == "cat.jpg"
    assert submission.file.content_type == "image/jpeg"


async def test_content_type_is_sniffed_not_guessed_from_the_name(
    fake: FakeDynaspark, context: ProviderContext
) -> None:
    png = encode("PNG")
    await ask(context, media=[Media(png)])  # default filename "image.jpg"
    file = fake.submissions[0].file
    assert file is not None
    assert (file.filename, file.content_type, file.value) == ("image.jpg", "image/png", png)


async def test_declared_content_type_wins(fake: FakeDynaspark, context: ProviderContext) -> None:
    await ask(context, media=[Media(encode("PNG"), "x.png", content_type="image/x-custom")])
    file = fake.submissions[0].file
    assert file is not None
    assert file.content_type == "image/x-custom"


async def test_only_the_first_image_is_sent(fake: FakeDynaspark, context: ProviderContext) -> None:
    first, second = encode("GIF"), encode("WEBP")
    await ask(context, media=[Media(first, "a.gif"), Media(second, "b.webp")])
    (submission,) = fake.submissions
    assert submission.file is not None
    assert (submission.file.value, submission.file.content_type) == (first, "image/gif")
    assert set(submission.parts) == {"user_input", "ai_model", "file"}


@pytest.mark.parametrize("media", [None, []])
async def test_text_only_has_no_file_part(
    fake: FakeDynaspark, context: ProviderContext, media: list[Media] | None
) -> None:
    events = await ask(context, "gemini-2.0-flash-lite", media=media)
    assert events == [TextResponse("A red square on a white background.", "gemini-2.0-flash-lite")]
    (submission,) = fake.submissions
    assert submission.content_type == "multipart/form-data"
    assert set(submission.parts) == {"user_input", "ai_model"}
    assert submission.ai_model == "gemini-2.0-flash-lite"


async def test_conversation_is_joined_into_one_prompt(
    fake: FakeDynaspark, context: ProviderContext
) -> None:
    messages: list[Message] = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Describe it"},
    ]
    await ask(context, messages=messages)
    assert (
        fake.submissions[0].user_input
        == "User: Hi\nAssistant: Hello!\nUser: Describe it\nAssistant:"
    )


def test_conversation_prompt() -> None:
    assert conversation_prompt([{"role": "user", "content": "  just this \n"}]) == "just this"
    assert conversation_prompt([]) == ""
    assert conversation_prompt(
        [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Why?"}]
    ) == ("System: Be brief\nUser: Why?\nAssistant:")


async def test_unicode_answer_and_question(fake: FakeDynaspark, context: ProviderContext) -> None:
    fake.answer = "Кот на подоконнике 🐈"
    events = await ask(context, messages=[{"role": "user", "content": "Что на фото?"}])
    assert events == [TextResponse("Кот на подоконнике 🐈", "gemini-1.5-flash")]
    assert fake.submissions[0].user_input == "Что на фото?"


# --- models ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        *[(m, m) for m in MODELS],
        ("", "gemini-1.5-flash"),
        ("GEMINI-2.0-FLASH", "gemini-2.0-flash"),
    ],
)
async def test_listed_names_are_sent_unchanged(
    fake: FakeDynaspark, context: ProviderContext, name: str, sent: str
) -> None:
    events = await ask(context, name)
    assert fake.submissions[0].ai_model == sent
    assert events == [TextResponse(fake.answer, sent)]


async def test_unknown_model(fake: FakeDynaspark, context: ProviderContext) -> None:
    with pytest.raises(UnknownModel):
        await ask(context, "gemini-9")
    assert fake.requests == []


def test_catalog_has_one_entry_per_model() -> None:
    assert Dynaspark.catalog() == [(m, m) for m in MODELS]
    registry = Registry([Dynaspark])
    assert [(e.id, e.upstream, e.kind) for e in registry.entries] == [
        (f"dynaspark/{m}", m, Kind.VISION) for m in MODELS
    ]
    assert registry.resolve("dynaspark/gemini-1.5-flash").upstream == "gemini-1.5-flash"
    assert registry.resolve("gemini-2.0-flash").upstream == "gemini-2.0-flash"


def test_seed_attributes() -> None:
    assert Dynaspark.models == Dynaspark.vision_models == MODELS
    assert Dynaspark.default_model == Dynaspark.default_vision_model == "gemini-1.5-flash"
    assert Dynaspark.model_aliases == {
        "gemini-1.5-flash": "gemini-1.5-flash-8b",
        "gemini-2.0-flash": "gemini-2.0-flash-lite",
    }
    assert (Dynaspark.login_url, Dynaspark.needs_auth, Dynaspark.supports_stream) == (
        None,
        False,
        True,
    )
    assert not Dynaspark.supports_system_message
    assert not Dynaspark.supports_message_history


async def test_through_the_library_api(fake: FakeDynaspark, context: ProviderContext) -> None:
    entry = Registry([Dynaspark]).resolve("dynaspark/gemini-2.0-flash")
    png = encode("PNG")
    events = [e async for e in ask_vision(entry, "What colour?", [Media(png, "p.png")], context)]
    assert events == [TextResponse(fake.answer, "gemini-2.0-flash")]
    (submission,) = fake.submissions
    assert (submission.user_input, submission.ai_model) == ("What colour?", "gemini-2.0-flash")
    assert submission.file is not None
    assert submission.file.value == png


# --- refusals and upstream failures ---------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "message"),
    [
        ([Media(b"hello, not an image", "notes.txt")], "JPEG, PNG, WebP and GIF"),
        ([Media(b"", "empty.jpg")], "empty"),
    ],
)
async def test_unreadable_images_are_refused(
    fake: FakeDynaspark, context: ProviderContext, media: list[Media], message: str
) -> None:
    with pytest.raises(InvalidOption, match=message):
        await ask(context, media=media)
    assert fake.requests == []


async def test_empty_question_is_refused(fake: FakeDynaspark, context: ProviderContext) -> None:
    with pytest.raises(InvalidOption, match="empty"):
        await ask(context, messages=[{"role": "user", "content": " "}])
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, ProviderUnavailable),
        (502, ProviderUnavailable),
        (429, RateLimited),
        (413, ResponseError),
    ],
)
async def test_http_errors(
    fake: FakeDynaspark, context: ProviderContext, status: int, error: type[Exception]
) -> None:
    fake.status = status
    with pytest.raises(error):
        await ask(context)
    assert len(fake.submissions) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><title>Service Unavailable</title>",
        b"",
        b'{"answer": "wrong field"}',
        b'{"response": ""}',
        b'{"response": "   "}',
        b'{"response": null}',
        b'{"response": 42}',
        b'{"error": "model overloaded"}',
        b'"just a string"',
    ],
)
async def test_unreadable_answers(
    fake: FakeDynaspark, context: ProviderContext, body: bytes
) -> None:
    fake.raw_body = body
    with pytest.raises(ResponseError) as info:
        await ask(context)
    assert info.value.provider == "Dynaspark"
    assert "overloaded" not in str(info.value)  # upstream text is never shown to users


async def test_unreachable_upstream(tmp_path: Path) -> None:
    server = FakeDynaspark()
    url = await server.start()
    await server.stop()
    async with provider_context(tmp_path, dynaspark_api_url=url) as context:
        with pytest.raises(ProviderUnavailable):
            await ask(context)


async def test_sequential_questions_share_one_connection(
    fake: FakeDynaspark, context: ProviderContext
) -> None:
    for _ in range(3):
        await ask(context, media=[Media(encode("JPEG"))])
    assert len(fake.submissions) == 3
    assert fake.connections == 1


# --- request shape against the production URL (no network: aioresponses) -------------------


async def test_production_url_headers_and_proxy(tmp_path: Path) -> None:
    settings = ProviderSettings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    context = ProviderContext.from_settings(settings)
    url = "https://dynaspark.onrender.com/generate_response"
    try:
        with aioresponses() as mocked:
            mocked.post(url, payload={"response": "ok"}, response_class=MockResponse)
            events = await ask(context, "gemini-1.5-flash-8b", proxy="http://proxy.local:3128")
            ((method, called), calls) = next(iter(mocked.requests.items()))
    finally:
        await context.close()
    assert events == [TextResponse("ok", "gemini-1.5-flash-8b")]
    assert (method, str(called)) == ("POST", url)
    kwargs = calls[0].kwargs
    assert kwargs["proxy"] == "http://proxy.local:3128"
    assert kwargs["headers"]["Origin"] == "https://dynaspark.onrender.com"
    assert kwargs["headers"]["X-Requested-With"] == "XMLHttpRequest"


# --- the fake's own multipart parser --------------------------------------------------------


def test_parse_multipart_keeps_binary_bytes() -> None:
    payload = b"\r\n--not-the-boundary\r\n\x00\xff\r\n"
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="ai_model"\r\n\r\n'
        b"gemini-2.0-flash\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a b.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + payload + b"\r\n"
        b"--XyZ--\r\n"
    )
    parts = parse_multipart("multipart/form-data; boundary=XyZ", body)
    assert parts["ai_model"].value == b"gemini-2.0-flash"
    assert (parts["file"].value, parts["file"].filename) == (payload, "a b.png")
    assert parts["file"].content_type == "image/png"
    with pytest.raises(ValueError):
        parse_multipart("multipart/form-data; boundary=XyZ", body.replace(b"--XyZ--", b""))


# --- sniff_image_type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_sniff_real_images(fmt: str, mime: str) -> None:
    data = encode(fmt)
    assert sniff_image_type(data) == mime
    assert sniff_image_type(data[:12]) == mime  # the header alone is enough


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8",  # too short to be sure
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"GIF88a",
        b"\x89PNG\r\n",  # truncated signature
        b"BM\x00\x00",  # BMP is not accepted
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        encode("BMP"),
    ],
)
def test_sniff_rejects_other_data(data: bytes) -> None:
    assert sniff_image_type(data) is None


@pytest.mark.parametrize(
    ("content_type", "extension"),
    [
        ("image/jpeg", ".jpg"),
        ("image/jpg", ".jpg"),
        ("IMAGE/PNG", ".png"),
        ("image/webp; q=1", ".webp"),
        ("image/gif", ".gif"),
        ("application/pdf", ".bin"),
        (None, ".bin"),
        ("", ".bin"),
    ],
)
def test_image_extension(content_type: str | None, extension: str) -> None:
    assert image_extension(content_type) == extension


def test_image_filename() -> None:
    assert image_filename(encode("PNG")) == "image.png"
    assert image_filename(encode("JPEG"), "photo_1") == "photo_1.jpg"
    assert image_filename(b"??") == "image.bin"
