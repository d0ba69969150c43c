"""The ``pollinations`` provider type: pictures from one GET, edits from one multipart POST,
vision OpenAI-compatible.

Images: ``GET {base}/image/{url-encoded prompt}?model=&width=&height=&seed=&nologo=true``
(and ``private=true``) answers the picture's bytes. Edits: ``POST {base}/v1/images/edits``, the
OpenAI multipart form (``model``, ``prompt``, ``size``, one ``image`` part or several
``image[]`` parts), answered ``{"data": [{"b64_json": ...}]}``. Vision:
``{base}/v1/chat/completions`` (see :mod:`providers.openai_chat`). All take the key as a Bearer
token; errors come as ``{"success": false, "error": {"code", "message"}}``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import random
import urllib.parse
from collections.abc import Sequence
from typing import Any

import aiohttp
from PIL import Image
from pydantic import SecretStr
from yarl import URL

from providers.core.entry import ProviderConfig
from providers.core.errors import ErrorCode, ProviderError, Refused, ResponseError
from providers.core.image_sizes import STANDARD_RATIOS, Size, format_size, near_megapixel
from providers.core.media import image_extension, sniff_image_type
from providers.core.outputs import image_source
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
from providers.live.openai.wire import Endpoint, decode_json

OPTIONS = ImageOptions(max_images=1, aspect_ratios=STANDARD_RATIOS, negative_prompt=False)
"""One picture per GET, any aspect ratio (about one megapixel), a seed."""

MAX_SEED = 2**31 - 1

ONE_PICTURE_MODELS = ("kontext",)
"""Edit models that read one input picture. ``kontext`` is FLUX.1 Kontext, which edits one
context picture: its several-picture mode is an experimental variant that Pollinations does not
serve, so a second picture would be dropped silently; the bot refuses it instead (or, falling
back, says it used the first)."""
MAX_EDIT_PICTURES = 4
"""Pictures per edit for the other models (gptimage, nanobanana, seedream read several): the
gateway passes them all on; four keeps the upload, and the bill, reasonable."""


def edit_options(upstream: str) -> ImageOptions:
    """What an edit request may ask of ``upstream``: one to :func:`max_pictures` pictures, an
    aspect ratio. The gateway's multipart form reads ``size`` but neither ``n`` (it answers one
    picture) nor ``seed`` (it draws its own), so neither is offered; no strength field either."""
    return ImageOptions(
        max_images=1,
        aspect_ratios=STANDARD_RATIOS,
        negative_prompt=False,
        seed=False,
        min_pictures=1,
        max_pictures=max_pictures(upstream),
        strength=False,
    )


def max_pictures(upstream: str) -> int:
    """How many input pictures the edit model ``upstream`` reads."""
    name = upstream.strip().lower()
    return 1 if name.startswith(ONE_PICTURE_MODELS) else MAX_EDIT_PICTURES


class Pollinations(Provider):
    """Pollinations' gateway. Without a seed a random one is sent, so that asking again gives
    a new picture (the service caches by URL) and the caption can name it."""

    def __init__(self, config: ProviderConfig, api_key: SecretStr | None) -> None:
        self.name = config.name
        self.label = config.title
        self.images = Endpoint(config.url, config.title, api_key)
        self.chat = Endpoint(f"{config.url}/v1", config.title, api_key)
        self._specs = [ModelSpec(a, u, Kind.IMAGE, OPTIONS) for a, u in config.models(Kind.IMAGE)]
        self._specs += [ModelSpec(a, u, Kind.VISION) for a, u in config.models(Kind.VISION)]
        self._specs += [
            ModelSpec(a, u, Kind.EDIT, edit_options(u)) for a, u in config.models(Kind.EDIT)
        ]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base={self.images.base!r})"

    def offers(self) -> list[ModelSpec]:
        return list(self._specs)

    def image_url(self, upstream: str, request: ImageRequest, seed: int) -> URL:
        """The GET address for ``request``: the prompt as one path segment, every character
        that is not unreserved percent-encoded."""
        width, height = near_megapixel(request.aspect_ratio)
        prompt = urllib.parse.quote(request.prompt, safe="")
        query = urllib.parse.urlencode(
            {
                "model": upstream,
                "width": width,
                "height": height,
                "seed": seed,
                "nologo": "true",
                "private": "true",  # keep users' prompts off Pollinations' public feed
            }
        )
        return URL(self.images.url(f"image/{prompt}?{query}"), encoded=True)

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """One Progress while the picture is drawn, then an ImageResponse with its bytes and
        the seed used (for an edit, see :meth:`edit`). ResponseError when the answer is not a
        picture."""
        if request.is_edit:
            async with contextlib.aclosing(self.edit(upstream, request, context)) as events:
                async for event in events:
                    yield event
            return
        seed = request.seed if request.seed is not None else random.randint(0, MAX_SEED)
        url = self.image_url(upstream, request, seed)
        yield Progress(Stage.GENERATING, "Generating")
        async with self.images.request(context, "GET", url, patient=True) as response:
            data = await response.read()
        if sniff_image_type(data) is None:
            raise ResponseError(ErrorCode.NOT_A_PICTURE, provider=self.label)
        yield ImageResponse(images=[data], alt=request.prompt, seed=seed, model=upstream)

    async def edit(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """One Progress while the pictures are edited, then an ImageResponse with the result
        (bytes, or the URL the gateway names) and no seed (the gateway draws its own).

        Raises Refused (MODERATION) when the gateway's moderation refuses the request (422
        ``content_policy_violation``), RateLimited (NO_QUOTA_LEFT) when the key has no pollen
        left (402 ``PAYMENT_REQUIRED``), and otherwise the errors that
        :func:`providers.live.openai.wire.status_error` maps statuses to."""
        form = edit_form(upstream, request)
        yield Progress(Stage.GENERATING, "Generating")
        try:
            async with self.images.request(
                context, "POST", self.images.url("v1/images/edits"), data=form, patient=True
            ) as response:
                raw = await response.read()
        except ProviderError as error:
            if error.code == ErrorCode.CONTENT_POLICY:
                raise Refused(ErrorCode.MODERATION, provider=self.label) from error
            raise
        images = edit_results(decode_json(raw, self.label), self.label)
        yield ImageResponse(images=images, alt=request.prompt, model=upstream)

    def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        """TextDelta events as the answer streams in, then the whole TextResponse."""
        return ask_chat(self.chat, context, upstream, question, media)


def edit_form(upstream: str, request: ImageRequest) -> aiohttp.FormData:
    """The multipart form of one edit: ``model``, ``prompt``, ``size`` (the aspect ratio asked
    for, else the first picture's shape, near one megapixel), then the pictures in order: one
    ``image`` part, or one ``image[]`` part each when there are several."""
    form = aiohttp.FormData()
    form.add_field("model", upstream)
    form.add_field("prompt", request.prompt)
    size = edit_size(request)
    if size is not None:
        form.add_field("size", format_size(size))
    field = "image" if len(request.images) == 1 else "image[]"
    for index, picture in enumerate(request.images, start=1):
        content_type = sniff_image_type(picture.data) or picture.content_type or "image/png"
        form.add_field(
            field,
            picture.data,
            filename=f"picture{index}{image_extension(content_type, '.png')}",
            content_type=content_type,
        )
    return form


def edit_size(request: ImageRequest) -> Size | None:
    """The output size near one megapixel: in the requested aspect ratio, else in the first
    picture's; None when neither is known (the gateway then answers 1024x1024)."""
    if request.aspect_ratio is not None:
        return near_megapixel(request.aspect_ratio)
    shape = picture_shape(request.images[0].data) if request.images else None
    return near_megapixel(f"{shape[0]}:{shape[1]}") if shape else None


def picture_shape(data: bytes) -> Size | None:
    """A picture's width and height from its header, None when it cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def edit_results(answer: Any, label: str) -> list[str | bytes]:
    """The pictures of an edits answer in order: ``data[].b64_json`` decoded, else
    ``data[].url`` (an http(s) address as it is, a data URL decoded).

    Raises ResponseError when there is none, or one is not a picture."""
    items = answer.get("data") if isinstance(answer, dict) else None
    images: list[str | bytes] = []
    for item in items if isinstance(items, list) else []:
        b64 = item.get("b64_json") if isinstance(item, dict) else None
        url = item.get("url") if isinstance(item, dict) else None
        if isinstance(b64, str) and b64:
            images.append(_picture(b64, label))
        elif isinstance(url, str) and url:
            images.append(image_source(url, label))
    if not images:
        raise ResponseError(ErrorCode.NO_PICTURES, provider=label)
    return images


def _picture(b64: str, label: str) -> bytes:
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ResponseError(ErrorCode.UNDECODABLE_PICTURE, provider=label) from None
    if sniff_image_type(data) is None:
        raise ResponseError(ErrorCode.NOT_A_PICTURE, provider=label)
    return data
