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

Edit models are endpoints that take pictures, ``edit_models = { kontext = "/infer" }``: the
pictures are uploaded first (:mod:`providers.live.gradio.upload`) and the endpoint's first
Image, File or Gallery parameter names them; the rest is filled as for images. An inline table
``{ upstream = "/infer", image_list = true }`` lets one job bring several pictures (for a
gallery or a list of files); without it an edit model takes one.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from providers.core.entry import ConfigError, ProviderConfig
from providers.core.errors import ErrorCode, InvalidOption, ResponseError
from providers.core.provider import Kind, ModelSpec, Provider, ProviderContext
from providers.core.slots import SPACE_SLOTS
from providers.core.types import (
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Media,
    Progress,
    Stage,
)
from providers.live.gradio.call import GradioCall
from providers.live.gradio.info import Endpoint, PictureSlot, parse_endpoint
from providers.live.gradio.inputs import assign_roles, fill, picture_parameter
from providers.live.gradio.upload import slot_value, upload

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
MAX_PICTURES = 4
"""Pictures per job for an edit model whose entry sets ``image_list = true``."""


def edit_options(image_list: bool | None) -> ImageOptions:
    """What a gradio edit model is offered with: :data:`OPTIONS`, one picture (up to
    :data:`MAX_PICTURES` with ``image_list``), and ``--strength``, which goes to a slider named
    like a strength (``strength``, ``denoise``, ...); an endpoint without one refuses it when
    the job starts, before any picture is uploaded."""
    return dataclasses.replace(
        OPTIONS, min_pictures=1, max_pictures=MAX_PICTURES if image_list else 1, strength=True
    )


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
        self._specs = [
            ModelSpec(alias, api, Kind.IMAGE, OPTIONS) for alias, api in config.models(Kind.IMAGE)
        ]
        self._specs += [
            ModelSpec(alias, model.upstream, Kind.EDIT, edit_options(model.image_list))
            for alias, model in config.edit_entries()
        ]
        self._api_key = api_key
        self._endpoints: dict[str, Endpoint] = {}

    def offers(self) -> Sequence[ModelSpec]:
        return list(self._specs)

    def model_id(self, upstream: str, kind: Kind) -> str:
        """The id users know the model of ``kind`` at ``upstream`` by (``myspace/kontext``)."""
        alias = next(
            (s.alias for s in self._specs if s.upstream == upstream and s.kind == kind), upstream
        )
        return f"{self.name}/{alias}"

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

        An edit request's pictures are uploaded first and named in the endpoint's picture
        parameter (see :meth:`_edit_data`).

        Raises InvalidOption for a value outside the app's ranges, ResponseError when the
        endpoint needs an input we cannot fill or the app reports a failure, RateLimited when
        it is out of GPU quota, and the call protocol's other errors (see
        :meth:`GradioCall.run`).
        """
        try:
            endpoint = await self.endpoint(upstream, context)
            if request.is_edit:
                plan = self.edit_plan(endpoint, upstream, request)
                yield Progress(Stage.SUBMITTED, "Uploading the pictures")
                data = await plan.upload(context, self.url, request.images, self.headers)
            else:
                data = fill(endpoint, request, self.label)
        except ResponseError:
            self._endpoints.pop(upstream, None)
            raise
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

    def edit_plan(self, endpoint: Endpoint, upstream: str, request: ImageRequest) -> EditPlan:
        """Every input of an edit filled and checked, the picture parameter left to fill once
        the pictures are uploaded; nothing is sent yet.

        Raises ResponseError when the endpoint takes no pictures (a configuration mistake:
        it is no edit model), InvalidOption when it takes one picture and the request brings
        more, or a strength and it has no strength slider, and :func:`fill`'s errors.
        """
        index = picture_parameter(endpoint)
        if index is None:
            raise ResponseError(
                ErrorCode.TAKES_NO_PICTURES, provider=self.label, model=endpoint.api_name
            )
        slot = endpoint.parameters[index].picture_slot
        assert slot is not None
        model = self.model_id(upstream, Kind.EDIT)
        if slot == "one" and len(request.images) > 1:
            raise InvalidOption(ErrorCode.ONE_PICTURE, model=model)
        roles = assign_roles(endpoint.parameters).values()
        if request.strength is not None and "strength" not in roles:
            raise InvalidOption(ErrorCode.NO_STRENGTH, model=model)
        data = fill(endpoint, request, self.label, given={index: None})
        return EditPlan(data, index, slot, self.label)


@dataclass(frozen=True)
class EditPlan:
    """An edit's call data, all but the pictures: ``data[index]`` takes them as ``slot`` says."""

    data: list[Any]
    index: int
    slot: PictureSlot
    label: str

    async def upload(
        self,
        context: ProviderContext,
        root: str,
        pictures: Sequence[Media],
        headers: Mapping[str, str],
    ) -> list[Any]:
        """Uploads ``pictures`` (in order, bytes unchanged) and returns the call's data with
        them in place; the upload's errors as :func:`upload` raises them."""
        uploaded = await upload(context, root, pictures, label=self.label, headers=headers)
        data = list(self.data)
        data[self.index] = slot_value(self.slot, uploaded)
        return data
