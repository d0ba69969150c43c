"""Dynaspark: Gemini models answering a question, optionally about one image (seed 004)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import aiohttp

from providers.core.errors import ErrorCode, InvalidOption, ResponseError
from providers.core.media import sniff_image_type
from providers.core.provider import ProviderContext, VisionSeed
from providers.core.types import EventStream, Media, Messages, TextResponse


def conversation_prompt(messages: Messages) -> str:
    """The messages as one prompt text, the way the seed's ``format_prompt`` joins them.

    A single message is sent as its bare content; several become ``Role: content``
    lines followed by ``Assistant:`` so the model answers the last one.
    """
    if len(messages) == 1:
        return messages[0]["content"].strip()
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n".join([*lines, "Assistant:"]) if lines else ""


class Dynaspark(VisionSeed):
    """Dynaspark's free Gemini front-end: one POST, one answer.

    The generator yields exactly one ``TextResponse``. The upstream takes at most one
    image; further images are ignored.
    """

    name = "dynaspark"
    label = "Dynaspark"
    url = "https://dynaspark.onrender.com"
    login_url: ClassVar[str | None] = None
    # The production endpoint, for reference; requests go to settings.dynaspark_api_url.
    api_endpoint: ClassVar[str] = "https://dynaspark.onrender.com/generate_response"
    working = True
    needs_auth: ClassVar[bool] = False
    supports_stream: ClassVar[bool] = True
    supports_system_message: ClassVar[bool] = False
    supports_message_history: ClassVar[bool] = False

    default_model = "gemini-1.5-flash"
    default_vision_model = default_model
    vision_models: ClassVar[list[str]] = [
        "gemini-1.5-flash",
        "gemini-1.5-flash-8b",
        "gemini-2.0-flash",
        "gemini-2.0-flash-lite",
    ]
    models: ClassVar[list[str]] = vision_models
    model_aliases: ClassVar[dict[str, str]] = {
        "gemini-1.5-flash": "gemini-1.5-flash-8b",
        "gemini-2.0-flash": "gemini-2.0-flash-lite",
    }

    @classmethod
    def catalog(cls) -> list[tuple[str, str]]:
        """One entry per model, each published under its own name.

        The seed's aliases map two listed model names onto their smaller siblings, but
        ``get_model`` checks ``models`` before ``model_aliases`` (as the seed does), so a
        listed name always resolves to itself and the aliases never change it. Publishing
        them would only create ids such as ``dynaspark/gemini-1.5-flash`` pointing at
        ``gemini-1.5-flash-8b``, which is not what the user picked.
        """
        return [(model.lower(), model) for model in cls.models]

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        *,
        context: ProviderContext,
        proxy: str | None = None,
        media: Sequence[Media] | None = None,
        **kwargs: Any,
    ) -> EventStream:
        """Asks the model; yields one ``TextResponse`` with the answer and the model used.

        With ``media`` the first image is uploaded as the ``file`` part, typed by its
        ``content_type`` or, failing that, by its magic bytes. Raises UnknownModel,
        InvalidOption (empty question, unreadable image), ResponseError (an answer that
        is not JSON or has no text) and the HTTP layer's errors.
        """
        model = cls.get_model(model)
        prompt = conversation_prompt(messages)
        if not prompt:
            raise InvalidOption(ErrorCode.EMPTY_QUESTION)
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("user_input", prompt)
        form.add_field("ai_model", model)
        if media:
            image = media[0]
            form.add_field(
                "file", image.data, filename=image.filename, content_type=cls._content_type(image)
            )
        data = await context.http.json(
            "POST",
            f"{context.settings.dynaspark_api_url.rstrip('/')}/generate_response",
            provider=cls.label,
            data=form,
            headers=cls._headers(),
            proxy=proxy or None,
        )
        yield TextResponse(cls._answer(data), model=model)

    @classmethod
    def _content_type(cls, image: Media) -> str:
        if not image.data:
            raise InvalidOption(ErrorCode.EMPTY_IMAGE)
        content_type = image.content_type or sniff_image_type(image.data)
        if content_type is None:
            raise InvalidOption(ErrorCode.MODEL_IMAGE_TYPES, model="Dynaspark")
        return content_type

    @classmethod
    def _answer(cls, data: Any) -> str:
        answer = data.get("response") if isinstance(data, dict) else None
        if not isinstance(answer, str) or not answer.strip():
            if isinstance(data, dict) and data.get("error"):
                raise ResponseError(ErrorCode.CANNOT_ANSWER, provider=cls.label)
            raise ResponseError(ErrorCode.INCOMPLETE, provider=cls.label, key="response")
        return answer

    @classmethod
    def _headers(cls) -> dict[str, str]:
        return {
            "Accept": "*/*",
            "Origin": cls.url,
            "Referer": f"{cls.url}/",
            "X-Requested-With": "XMLHttpRequest",
        }
