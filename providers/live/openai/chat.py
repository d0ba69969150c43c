"""Questions about images over an OpenAI-compatible ``chat/completions``, answered as a stream.

Used by every provider type whose vision speaks the OpenAI protocol (``openai``,
``pollinations``). The photo travels inside the message as a ``data:`` URL.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

from providers.core.errors import (
    ErrorCode,
    InvalidOption,
    ProviderUnavailable,
    Refused,
    ResponseError,
)
from providers.core.media import EXTENSIONS, sniff_image_type
from providers.core.provider import ProviderContext
from providers.core.sse import iter_sse
from providers.core.types import EventStream, Media, TextDelta, TextResponse
from providers.live.openai.wire import Endpoint, decode_json, status_error


def data_url(image: Media) -> str:
    """The image as ``data:<type>;base64,...``; InvalidOption when it is empty or not a
    JPEG, PNG, WebP or GIF."""
    if not image.data:
        raise InvalidOption(ErrorCode.EMPTY_IMAGE)
    content_type = sniff_image_type(image.data) or image.content_type
    if content_type not in EXTENSIONS:
        raise InvalidOption(ErrorCode.IMAGE_TYPES)
    return f"data:{content_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def chat_request(model: str, question: str, media: Sequence[Media]) -> dict[str, Any]:
    """The streaming ``chat/completions`` body: one user message, the question as text and
    each image as an ``image_url`` object (a bare text content when there is no image)."""
    content: str | list[dict[str, Any]] = question
    if media:
        content = [{"type": "text", "text": question}]
        content += [{"type": "image_url", "image_url": {"url": data_url(m)}} for m in media]
    return {"model": model, "messages": [{"role": "user", "content": content}], "stream": True}


async def ask_chat(
    endpoint: Endpoint,
    context: ProviderContext,
    model: str,
    question: str,
    media: Sequence[Media],
) -> EventStream:
    """TextDelta events as the answer arrives, then one TextResponse with the whole text.

    A server that ignores ``stream`` and answers one JSON object gives just the TextResponse.
    Raises InvalidOption (empty question, unreadable image), ProviderUnavailable when the
    stream stops before the answer is complete, ResponseError for an unreadable or empty
    answer, Refused when a content filter stopped it, and the wire errors of
    :mod:`providers.live.openai.wire`.
    """
    if not question.strip():
        raise InvalidOption(ErrorCode.EMPTY_QUESTION)
    body = chat_request(model, question.strip(), media)
    label = endpoint.label
    async with endpoint.request(
        context, "POST", endpoint.url("chat/completions"), json=body
    ) as response:
        if response.content_type == "application/json":
            answer = decode_json(await response.read(), label)
            yield TextResponse(_whole_answer(answer, label), model)
            return
        parts: list[str] = []
        async for piece in _stream_pieces(response, context, label):
            parts.append(piece)
            yield TextDelta(piece)
    text = "".join(parts)
    if not text.strip():
        raise ResponseError(ErrorCode.SENT_EMPTY_ANSWER, provider=label)
    yield TextResponse(text, model)


async def _stream_pieces(
    response: aiohttp.ClientResponse, context: ProviderContext, label: str
) -> AsyncIterator[str]:
    """The answer's text pieces; raises when the stream ends before ``[DONE]`` or a
    ``finish_reason`` said it was complete, and when it held no event at all (not a stream)."""
    finish: str | None = None
    received = False
    async for event in iter_sse(response, context.settings.read_timeout):
        received = True
        data = event.data.strip()
        if data == "[DONE]":
            finish = finish or "stop"
            break
        chunk = decode_json(data, label)
        if not isinstance(chunk, dict):
            raise ResponseError(ErrorCode.UNREADABLE_RESPONSE, provider=label)
        if chunk.get("error"):
            raise status_error(None, chunk, {}, label)
        choice = _first_choice(chunk)
        delta = choice.get("delta")
        piece = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(piece, str) and piece:
            yield piece
        finish = choice.get("finish_reason") or finish
    if not received:
        raise ResponseError(ErrorCode.UNREADABLE_RESPONSE, provider=label)
    if finish is None:
        raise ProviderUnavailable(ErrorCode.STOPPED_MIDWAY, provider=label)
    if finish == "content_filter":
        raise Refused(ErrorCode.CONTENT_FILTER, provider=label)


def _first_choice(chunk: dict[str, Any]) -> dict[str, Any]:
    choices = chunk.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}  # keep-alive and usage chunks carry no choice


def _whole_answer(data: Any, label: str) -> str:
    """The text of a non-streamed completion."""
    if isinstance(data, dict) and data.get("error"):
        raise status_error(None, data, {}, label)
    message = _first_choice(data).get("message") if isinstance(data, dict) else None
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ResponseError(ErrorCode.SENT_EMPTY_ANSWER, provider=label)
    return text
