"""Pictures drawn or edited through ``chat/completions`` (an entry's ``image_api = "chat"``:
OpenRouter, Gemini): one user message with the prompt as a text part and each picture as an
``image_url`` part (a data URL), and ``modalities: ["image", "text"]``.

Pictures come back in one of three shapes, all read: ``choices[0].message.images[]``
(``image_url.url``, a data URL or an https URL), ``image_url`` parts of a ``content`` list, or
markdown ``![...](data:image/...;base64,...)`` inside a text ``content``. An answer with words
and no picture is a failure that quotes the words (the model refused or cannot draw).
"""

from __future__ import annotations

import re
from typing import Any

from providers.core.errors import ErrorCode, Refused, ResponseError
from providers.core.media import JPEG, PNG, WEBP
from providers.core.provider import ProviderContext
from providers.core.types import (
    EventStream,
    ImageRequest,
    ImageResponse,
    PictureLimits,
    Progress,
    Stage,
)
from providers.live.openai.chat import data_url
from providers.live.openai.pictures import picture_from_url
from providers.live.openai.wire import Endpoint, status_error

MODALITIES = ["image", "text"]
MAX_CHAT_PICTURES = 8
"""Pictures one chat edit brings: they travel base64-encoded inside one JSON body."""
CHAT_PICTURES = PictureLimits(types=(PNG, JPEG, WEBP), max_side=2048, max_bytes=2 * 1024 * 1024)
REASON_CHARS = 200
"""How much of a text-only answer a failure quotes."""

_MARKDOWN_PICTURE = re.compile(
    r"!\[[^\]\n]{0,200}\]\(\s*(data:image/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+"
    r"|https?://[^\s)]+)\s*\)"
)
_SAFETY_FINISH = re.compile(r"safety|prohibited|blocklist|spii|content_filter", re.IGNORECASE)


def chat_image_request(model: str, request: ImageRequest) -> dict[str, Any]:
    """The ``chat/completions`` body: the prompt (a bare text content without pictures), each
    picture an ``image_url`` object; the aspect ratio, when asked for, in OpenRouter's
    ``image_config``."""
    content: str | list[dict[str, Any]] = request.prompt
    if request.images:
        content = [{"type": "text", "text": request.prompt}]
        content += [
            {"type": "image_url", "image_url": {"url": data_url(picture)}}
            for picture in request.images
        ]
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "modalities": MODALITIES,
    }
    if request.aspect_ratio:
        body["image_config"] = {"aspect_ratio": request.aspect_ratio}
    return body


async def draw_in_chat(
    endpoint: Endpoint, context: ProviderContext, model: str, request: ImageRequest
) -> EventStream:
    """One Progress while the model works, then an ImageResponse with bytes or URLs.

    Raises Refused when the upstream's moderation stopped it, ResponseError
    (ANSWERED_WITHOUT_PICTURE) for words without a picture, and the wire errors.
    """
    body = chat_image_request(model, request)
    yield Progress(Stage.GENERATING, "Generating")
    answer = await endpoint.post_json(context, "chat/completions", body, patient=True)
    images = chat_pictures(answer, endpoint.label)
    yield ImageResponse(images=images, alt=request.prompt, model=model)


def chat_pictures(data: Any, label: str) -> list[str | bytes]:
    """The pictures of a chat completion, in order, from any of the three shapes."""
    if not isinstance(data, dict):
        raise ResponseError(ErrorCode.UNREADABLE_RESPONSE, provider=label)
    if data.get("error"):
        raise status_error(None, data, {}, label)
    choice = _first_choice(data)
    if choice.get("error"):
        raise status_error(None, {"error": choice["error"]}, {}, label)
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    pictures: list[str | bytes] = []
    words: list[str] = []
    for url in _image_urls(message.get("images")):
        _add(pictures, url, label)
    content = message.get("content")
    parts = content if isinstance(content, list) else [content]
    for part in parts:
        if isinstance(part, str):
            words.append(_take_markdown(part, pictures, label))
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            words.append(_take_markdown(part["text"], pictures, label))
        elif isinstance(part, dict):
            for url in _image_urls([part]):
                _add(pictures, url, label)
    if pictures:
        return pictures
    if _refused(choice, message):
        raise Refused(ErrorCode.MODERATION, provider=label)
    text = " ".join(" ".join(words).split())
    if text:
        reason = shorten(text, REASON_CHARS)
        raise ResponseError(ErrorCode.ANSWERED_WITHOUT_PICTURE, provider=label, reason=reason)
    raise ResponseError(ErrorCode.NO_PICTURES, provider=label)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def _first_choice(data: dict[str, Any]) -> dict[str, Any]:
    choices = data.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}


def _image_urls(items: Any) -> list[str]:
    """The URLs of ``image_url`` items: ``{"image_url": {"url": ...}}`` or a bare string."""
    urls: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        image_url = item.get("image_url")
        url = image_url.get("url") if isinstance(image_url, dict) else image_url
        if isinstance(url, str):
            urls.append(url)
    return urls


def _add(pictures: list[str | bytes], url: str, label: str) -> None:
    picture = picture_from_url(url, label)
    if picture is not None:
        pictures.append(picture)


def _take_markdown(text: str, pictures: list[str | bytes], label: str) -> str:
    """Adds the markdown pictures in ``text`` to ``pictures``; the words around them."""
    for match in _MARKDOWN_PICTURE.finditer(text):
        _add(pictures, match[1], label)
    return _MARKDOWN_PICTURE.sub(" ", text)


def _refused(choice: dict[str, Any], message: dict[str, Any]) -> bool:
    """Whether the answer says moderation stopped it: ``finish_reason: content_filter``, a
    safety finish of the model behind (OpenRouter's ``native_finish_reason``), or a
    ``refusal``."""
    finish = f"{choice.get('finish_reason') or ''} {choice.get('native_finish_reason') or ''}"
    refusal = message.get("refusal")
    return bool(_SAFETY_FINISH.search(finish)) or (isinstance(refusal, str) and bool(refusal))
