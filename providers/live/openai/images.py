"""The ``openai`` provider type: any OpenAI-compatible API (OpenAI, Gemini's OpenAI endpoint,
Hugging Face's router, Together, OpenRouter, Ollama, vLLM, ...): images, edits and vision.

Images: ``POST {base}/images/generations`` with ``{model, prompt, n, size}``, answered with
``data[].b64_json`` or ``data[].url``; edits: ``POST {base}/images/edits``
(:mod:`providers.live.openai.edits`). An entry with ``image_api = "chat"`` draws and edits
through ``chat/completions`` instead (:mod:`providers.live.openai.chat_images`). Vision:
:mod:`providers.live.openai.chat`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import SecretStr

from providers.core.entry import ConfigError, ProviderConfig
from providers.core.image_sizes import (
    STANDARD_RATIOS,
    Size,
    closest_size,
    format_size,
    near_megapixel,
    parse_size,
    ratios_of,
)
from providers.core.provider import Kind, ModelSpec, Provider, ProviderContext
from providers.core.types import (
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Media,
    Progress,
    Stage,
)
from providers.live.openai import edits
from providers.live.openai.chat import ask_chat
from providers.live.openai.chat_images import CHAT_PICTURES, MAX_CHAT_PICTURES, draw_in_chat
from providers.live.openai.pictures import image_results
from providers.live.openai.wire import Endpoint

__all__ = ["OpenAICompatible", "image_results", "model_options", "model_sizes"]

MAX_IMAGES = 4
"""Pictures per request where the API takes several: the API allows more, the bill grows too."""

_GPT_IMAGE_SIZES = ["1024x1024", "1536x1024", "1024x1536"]
KNOWN_SIZES: dict[str, list[str]] = {
    "gpt-image-": _GPT_IMAGE_SIZES,
    "chatgpt-image": _GPT_IMAGE_SIZES,
    "dall-e-3": ["1024x1024", "1792x1024", "1024x1792"],
    "dall-e-2": ["256x256", "512x512", "1024x1024"],
}
"""OpenAI's models by name prefix, with the only sizes they take."""

ONE_AT_A_TIME = ("dall-e-3",)


def model_sizes(upstream: str, listed: Sequence[str] | None) -> list[Size] | None:
    """The sizes a model takes: the entry's ``sizes``, else OpenAI's own for its models;
    None when any width and height will do. ValueError for a size that is not ``WxH``."""
    if listed:
        return [parse_size(size) for size in listed]
    name = upstream.lower().rsplit("/", 1)[-1]
    for prefix, sizes in KNOWN_SIZES.items():
        if name.startswith(prefix):
            return [parse_size(size) for size in sizes]
    return None


def model_options(upstream: str, sizes: Sequence[Size] | None) -> ImageOptions:
    """What a request may ask of the model: the aspect ratios its sizes honour and how many
    pictures at once. The images API takes no steps, guidance, seed or negative prompt."""
    name = upstream.lower().rsplit("/", 1)[-1]
    return ImageOptions(
        max_images=1 if name.startswith(ONE_AT_A_TIME) else MAX_IMAGES,
        aspect_ratios=ratios_of(sizes) if sizes else STANDARD_RATIOS,
        negative_prompt=False,
        seed=False,
    )


def edit_options(upstream: str, sizes: Sequence[Size] | None) -> ImageOptions:
    """What an edit through ``images/edits`` may ask: as for drawing (ratios, pictures at
    once), plus 1 to 16 pictures (dall-e-2: one) of the types and sizes the model reads. No
    aspect ratio keeps the input's shape (no ``size`` is sent)."""
    return replace(
        model_options(upstream, sizes),
        min_pictures=1,
        max_pictures=edits.max_pictures(upstream),
        pictures=edits.picture_limits(upstream),
    )


CHAT_DRAWING = ImageOptions(
    max_images=1, aspect_ratios=STANDARD_RATIOS, negative_prompt=False, seed=False
)
"""What a model drawing through ``chat/completions`` takes: one picture per answer."""
CHAT_EDITING = replace(
    CHAT_DRAWING, min_pictures=1, max_pictures=MAX_CHAT_PICTURES, pictures=CHAT_PICTURES
)
"""What a model editing through ``chat/completions`` takes."""


class OpenAICompatible(Provider):
    """One configured OpenAI-compatible API: its image models draw through the images
    endpoint and its edit models change pictures through ``images/edits`` (both through
    chat completions for an entry with ``image_api = "chat"``); its vision models answer
    through chat completions, streamed."""

    def __init__(self, config: ProviderConfig, api_key: SecretStr | None) -> None:
        self.name = config.name
        self.label = config.title
        self.endpoint = Endpoint(config.url, config.title, api_key)
        self.response_format = config.response_format
        self.in_chat = config.image_api == "chat"
        self._sizes: dict[str, list[Size] | None] = {}
        self._specs: list[ModelSpec] = []
        for kind in (Kind.IMAGE, Kind.VISION, Kind.EDIT):
            for alias, upstream in config.models(kind):
                options = None if kind == Kind.VISION else self._options(config, kind, upstream)
                self._specs.append(ModelSpec(alias, upstream, kind, options))

    def _options(self, config: ProviderConfig, kind: Kind, upstream: str) -> ImageOptions:
        """What a request to the model may ask; notes the sizes it takes."""
        if self.in_chat:
            return CHAT_EDITING if kind == Kind.EDIT else CHAT_DRAWING
        try:
            sizes = model_sizes(upstream, config.sizes)
        except ValueError as error:
            raise ConfigError(f"provider {config.name}: sizes: {error}") from None
        self._sizes[upstream] = sizes
        if kind == Kind.EDIT:
            return edit_options(upstream, sizes)
        return model_options(upstream, sizes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base={self.endpoint.base!r})"

    def offers(self) -> list[ModelSpec]:
        return list(self._specs)

    def size_for(self, upstream: str, aspect_ratio: str | None) -> str:
        """The ``size`` sent for a request in ``aspect_ratio``."""
        sizes = self._sizes.get(upstream)
        if sizes:
            return format_size(closest_size(sizes, aspect_ratio))
        return format_size(near_megapixel(aspect_ratio))

    def image_request(self, upstream: str, request: ImageRequest) -> dict[str, Any]:
        """The JSON body of ``images/generations``; ``response_format`` only when configured."""
        body: dict[str, Any] = {
            "model": upstream,
            "prompt": request.prompt,
            "n": request.n,
            "size": self.size_for(upstream, request.aspect_ratio),
        }
        if self.response_format:
            body["response_format"] = self.response_format
        return body

    def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """One Progress while the API draws (or edits the request's pictures), then an
        ImageResponse with bytes or URLs. Raises Refused when the upstream's moderation
        refused the request, and the wire errors of :mod:`providers.live.openai.wire`."""
        if self.in_chat:
            return draw_in_chat(self.endpoint, context, upstream, request)
        if request.is_edit:
            return self._edit(upstream, request, context)
        return self._draw(upstream, request, context)

    async def _draw(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        body = self.image_request(upstream, request)
        yield Progress(Stage.GENERATING, "Generating")
        data = await self.endpoint.post_json(context, "images/generations", body, patient=True)
        yield ImageResponse(
            images=image_results(data, self.label), alt=request.prompt, model=upstream
        )

    async def _edit(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        size = self.size_for(upstream, request.aspect_ratio) if request.aspect_ratio else None
        form = await edits.edit_form(upstream, request, size, self.response_format)
        yield Progress(Stage.GENERATING, "Editing")
        data = await self.endpoint.post_form(context, "images/edits", form, patient=True)
        yield ImageResponse(
            images=image_results(data, self.label), alt=request.prompt, model=upstream
        )

    def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        """TextDelta events as the answer streams in, then the whole TextResponse."""
        return ask_chat(self.endpoint, context, upstream, question, media)
