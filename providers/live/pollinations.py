"""The ``pollinations`` provider type: pictures from one GET, vision OpenAI-compatible.

Images: ``GET {base}/image/{url-encoded prompt}?model=&width=&height=&seed=&nologo=true``
(and ``private=true``) answers the picture's bytes. Vision: ``{base}/v1/chat/completions`` (see
:mod:`providers.openai_chat`). Both take the key as a Bearer token.
"""

from __future__ import annotations

import random
import urllib.parse
from collections.abc import Sequence

from pydantic import SecretStr
from yarl import URL

from providers.core.entry import ProviderConfig
from providers.core.errors import ErrorCode, ResponseError
from providers.core.image_sizes import STANDARD_RATIOS, near_megapixel
from providers.core.media import sniff_image_type
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

OPTIONS = ImageOptions(max_images=1, aspect_ratios=STANDARD_RATIOS, negative_prompt=False)
"""One picture per GET, any aspect ratio (about one megapixel), a seed."""

MAX_SEED = 2**31 - 1


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
        the seed used. ResponseError when the answer is not a picture."""
        seed = request.seed if request.seed is not None else random.randint(0, MAX_SEED)
        url = self.image_url(upstream, request, seed)
        yield Progress(Stage.GENERATING, "Generating")
        async with self.images.request(context, "GET", url, patient=True) as response:
            data = await response.read()
        if sniff_image_type(data) is None:
            raise ResponseError(ErrorCode.NOT_A_PICTURE, provider=self.label)
        yield ImageResponse(images=[data], alt=request.prompt, seed=seed, model=upstream)

    def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        """TextDelta events as the answer streams in, then the whole TextResponse."""
        return ask_chat(self.chat, context, upstream, question, media)
