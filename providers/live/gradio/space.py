"""The ``gradio`` provider type: any Hugging Face Space or self-hosted Gradio app that draws.

A providers.toml entry names the app's URL and, per model, the endpoint's ``api_name``::

    [[provider]]
    name = "flux"
    type = "gradio"
    base_url = "https://black-forest-labs-flux-1-schnell.hf.space"
    image_models = { schnell = "/infer" }

The first job of a model reads the endpoint's parameters from ``GET {url}/gradio_api/info``
(kept for the provider's life, read again after a job the app rejected), fills them by name
(:mod:`providers.gradio_inputs`) and runs Gradio's call protocol (:mod:`providers.gradio_call`,
the same code SD 3.5 uses). The first image among the results is the picture; a number beside
it is the seed.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence

from pydantic import SecretStr

from providers.core.entry import ConfigError, ProviderConfig
from providers.core.errors import ResponseError
from providers.core.provider import Kind, ModelSpec, Provider, ProviderContext
from providers.core.slots import SPACE_SLOTS
from providers.core.types import EventStream, ImageOptions, ImageRequest, ImageResponse
from providers.live.gradio.call import GradioCall
from providers.live.gradio.info import Endpoint, parse_endpoint
from providers.live.gradio.inputs import fill

OPTIONS = ImageOptions(
    max_images=1,
    steps=(1, 150),
    cfg=(0.0, 30.0),
    aspect_ratios=(
        "1:1",
        "16:9",
        "9:16",
        "4:3",
        "3:4",
        "3:2",
        "2:3",
        "5:4",
        "4:5",
        "21:9",
        "9:21",
    ),
)
"""What every gradio model is offered with, before its app is asked. The app's own ranges are
checked when a job starts (a seed, step count or guidance scale outside them is an
InvalidOption naming the range); a value the endpoint has no parameter for (a negative prompt
for FLUX, say) is ignored, and so is an aspect ratio when it takes no width and height."""


class GradioSpace(Provider):
    """One Gradio app; each model is one of its named endpoints (``/infer``).

    ``api_key`` (an HF token for a Space: config passes ``HF_TOKEN`` to an ``hf.space`` URL
    whose entry names no key) goes as ``Authorization: Bearer`` with every request.
    """

    def __init__(self, config: ProviderConfig, api_key: SecretStr | None = None) -> None:
        if config.vision_models:
            raise ConfigError(
                f"provider {config.name}: a gradio app draws images; vision_models is not supported"
            )
        self.name = config.name
        self.label = config.title
        self.max_concurrency = config.max_concurrency or SPACE_SLOTS
        self.url = config.url
        self._models = config.models(Kind.IMAGE)
        self._api_key = api_key
        self._endpoints: dict[str, Endpoint] = {}

    def offers(self) -> Sequence[ModelSpec]:
        return [ModelSpec(alias, api, Kind.IMAGE, OPTIONS) for alias, api in self._models]

    @property
    def headers(self) -> dict[str, str]:
        """The headers of every request: the Bearer token, when there is one."""
        if self._api_key is None or not self._api_key.get_secret_value():
            return {}
        return {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}

    async def endpoint(self, api_name: str, context: ProviderContext) -> Endpoint:
        """The endpoint's parameters, read from the app's info on first use and kept.

        Raises ResponseError when the app has no such endpoint or describes it unreadably,
        and the HTTP layer's errors when the info cannot be fetched.
        """
        known = self._endpoints.get(api_name)
        if known is not None:
            return known
        info = await context.http.json(
            "GET", f"{self.url}/gradio_api/info", provider=self.label, headers=self.headers
        )
        endpoint = parse_endpoint(info, api_name, self.label)
        self._endpoints[api_name] = endpoint
        return endpoint

    async def _with_own_files(
        self, result: ImageResponse, context: ProviderContext
    ) -> ImageResponse:
        """The result with the app's own files downloaded (with the token: a private Space
        serves them only so); files elsewhere stay URLs, so the token never leaves the app."""
        images: list[str | bytes] = []
        for image in result.images:
            if isinstance(image, str) and image.startswith(f"{self.url}/"):
                image = await context.http.read(image, provider=self.label, headers=self.headers)
            images.append(image)
        return dataclasses.replace(result, images=images)

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """Progress(QUEUED), perhaps Progress(GENERATING) and ImagePreviews, then one
        ImageResponse with the picture's URL and the seed the app reports (if any).

        With a token, the picture comes as bytes, downloaded with the token (a private Space's
        files need it); without, as the app's URL.

        Raises InvalidOption for a value outside the app's ranges, ResponseError when the
        endpoint needs an input we cannot fill or the app reports a failure, RateLimited when
        it is out of GPU quota, and the call protocol's other errors (see
        :meth:`GradioCall.run`).
        """
        endpoint = await self.endpoint(upstream, context)
        data = fill(endpoint, request, self.label)
        call = GradioCall(
            root=self.url,
            endpoint=f"{self.url}/gradio_api/call{endpoint.api_name}",
            label=self.label,
            headers=self.headers,
        )
        try:
            async with contextlib.aclosing(
                call.run(context, data, prompt=request.prompt, model=upstream)
            ) as events:
                async for event in events:
                    if isinstance(event, ImageResponse) and self.headers:
                        event = await self._with_own_files(event, context)
                    yield event
        except ResponseError:
            # The app may have changed its inputs: read its info again next time.
            self._endpoints.pop(upstream, None)
            raise
