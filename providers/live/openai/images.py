"""The ``openai`` provider type: any OpenAI-compatible API (OpenAI, Gemini's OpenAI endpoint,
Hugging Face's router, Together, OpenRouter, Ollama, vLLM, ...), images and vision.

Images: ``POST {base}/images/generations`` with ``{model, prompt, n, size}``, answered with
``data[].b64_json`` or ``data[].url``. Vision: :mod:`providers.openai_chat`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from providers.core.entry import ConfigError, ProviderConfig
from providers.core.errors import ErrorCode, ResponseError
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
from providers.live.openai.chat import ask_chat
from providers.live.openai.wire import Endpoint

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


def image_results(data: Any, label: str) -> list[str | bytes]:
    """The pictures of an images answer: decoded ``b64_json`` bytes or ``url`` strings, in
    order; ResponseError when there is none or one cannot be decoded."""
    items = data.get("data") if isinstance(data, dict) else None
    images: list[str | bytes] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        b64, url = item.get("b64_json"), item.get("url")
        if isinstance(b64, str) and b64:
            images.append(_decode(b64, label))
        elif isinstance(url, str) and url.startswith("data:") and ";base64," in url:
            images.append(_decode(url.partition(";base64,")[2], label))
        elif isinstance(url, str) and url.startswith(("http://", "https://")):
            images.append(url)
    if not images:
        raise ResponseError(ErrorCode.NO_PICTURES, provider=label)
    return images


def _decode(b64: str, label: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ResponseError(ErrorCode.UNDECODABLE_PICTURE, provider=label) from None


class OpenAICompatible(Provider):
    """One configured OpenAI-compatible API: its image models draw through the images
    endpoint, its vision models answer through chat completions, streamed."""

    def __init__(self, config: ProviderConfig, api_key: SecretStr | None) -> None:
        self.name = config.name
        self.label = config.title
        self.endpoint = Endpoint(config.url, config.title, api_key)
        self.response_format = config.response_format
        self._sizes: dict[str, list[Size] | None] = {}
        self._specs: list[ModelSpec] = []
        for alias, upstream in config.models(Kind.IMAGE):
            try:
                sizes = model_sizes(upstream, config.sizes)
            except ValueError as error:
                raise ConfigError(f"provider {config.name}: sizes: {error}") from None
            self._sizes[upstream] = sizes
            options = model_options(upstream, sizes)
            self._specs.append(ModelSpec(alias, upstream, Kind.IMAGE, options))
        self._specs += [ModelSpec(a, u, Kind.VISION) for a, u in config.models(Kind.VISION)]

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

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """One Progress while the API draws, then an ImageResponse with bytes or URLs."""
        body = self.image_request(upstream, request)
        yield Progress(Stage.GENERATING, "Generating")
        data = await self.endpoint.post_json(context, "images/generations", body, patient=True)
        images = image_results(data, self.label)
        yield ImageResponse(images=images, alt=request.prompt, model=upstream)

    def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        """TextDelta events as the answer streams in, then the whole TextResponse."""
        return ask_chat(self.endpoint, context, upstream, question, media)
