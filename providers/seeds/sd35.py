"""StabilityAI SD 3.5 Large on its Hugging Face Space, through Gradio's ``/gradio_api/call`` API.

One job is one POST (the eight inputs in the Space's order, answered with an ``event_id``) and
one streamed GET of that event's Server-Sent Events (see :mod:`providers.gradio_call`, shared
with the generic ``gradio`` provider). The Space's signature is fixed here, so unlike the generic
provider this one never reads ``/gradio_api/info``.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any, ClassVar

from providers.core.errors import ErrorCode, InvalidOption
from providers.core.provider import ImageSeed, ProviderContext
from providers.core.slots import SPACE_SLOTS
from providers.core.types import EventStream, ImageOptions, ImageRequest, Messages, format_prompt
from providers.live.gradio.call import GradioCall, parse_result

MIN_SIDE, MAX_SIDE = 512, 1440
"""The Space's width and height sliders."""
_AREA = 1024 * 1024


class StabilityAI_SD35Large(ImageSeed):
    """Text-to-image with Stable Diffusion 3.5 Large, one picture per job, free but GPU-quota bound.

    An ``HF_TOKEN`` (or ``api_key``) is sent as a Bearer token: the Space then counts the
    quota against that account instead of the anonymous one.
    """

    name = "sd35"
    label = "StabilityAI SD 3.5 Large"
    max_concurrency = SPACE_SLOTS
    url = "https://stabilityai-stable-diffusion-3-5-large.hf.space"
    api_endpoint: ClassVar[str] = "/gradio_api/call/infer"
    working = True
    default_model = "stabilityai-stable-diffusion-3-5-large"
    default_image_model = default_model
    model_aliases: ClassVar[dict[str, str]] = {"sd-3.5": default_model}
    # The seed lists the alias here; our ``models`` holds upstream names, so the registry
    # publishes one entry, ``sd35/sd-3.5``.
    image_models: ClassVar[list[str]] = [default_model]
    models: ClassVar[list[str]] = image_models
    options = ImageOptions(
        max_images=1,
        steps=(1, 50),
        cfg=(0.0, 10.0),
        aspect_ratios=("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21"),
    )

    @classmethod
    def image_kwargs(cls, request: ImageRequest) -> dict[str, Any]:
        """The generator keywords for ``request``; unset values keep the Space's defaults.

        A given seed turns the Space's ``randomize_seed`` off so the seed is honoured.
        """
        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "aspect_ratio": request.aspect_ratio,
            "num_inference_steps": request.steps,
            "guidance_scale": request.cfg,
        }
        if request.seed is not None:
            kwargs.update(seed=request.seed, randomize_seed=False)
        return {key: value for key, value in kwargs.items() if value is not None}

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        *,
        context: ProviderContext,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        api_key: str | None = None,
        proxy: str | None = None,
        aspect_ratio: str = "1:1",
        width: int | None = None,
        height: int | None = None,
        guidance_scale: float = 4.5,
        num_inference_steps: int = 50,
        seed: int = 0,
        randomize_seed: bool = True,
        **kwargs: Any,
    ) -> EventStream:
        """Progress(QUEUED) once the Space accepted the job, then for each preview the Space
        streams a Progress(GENERATING) (the first time) and an ImagePreview, then one
        ImageResponse with the picture's URL and the seed the Space used.

        Raises RateLimited when the Space is out of GPU quota, ResponseError when it reports
        any other failure or sends something unreadable, ProviderTimeout when its stream stays
        silent for ``read_timeout`` seconds, ProviderUnavailable when the stream ends early,
        and the HTTP layer's errors otherwise.
        """
        model = cls.get_model(model)
        text = format_prompt(messages, prompt)
        if not text.strip():
            raise InvalidOption(ErrorCode.EMPTY_PROMPT)
        width, height = image_size(aspect_ratio, width, height)
        space = context.settings.sd35_space_url.rstrip("/")
        headers: dict[str, str] = {}
        token = api_key or (
            context.settings.hf_token.get_secret_value() if context.settings.hf_token else None
        )
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = [
            text,
            negative_prompt or "",
            seed,
            randomize_seed,
            width,
            height,
            guidance_scale,
            num_inference_steps,
        ]
        call = GradioCall(space, f"{space}{cls.api_endpoint}", cls.label, headers, proxy)
        async with contextlib.aclosing(call.run(context, payload, prompt=text, model=model)) as run:
            async for event in run:
                yield event

    @classmethod
    def _result(cls, data: str, space: str) -> tuple[str, int | None]:
        """The image URL and the seed of a ``complete`` event's ``[file, seed]``."""
        return parse_result(data, space, cls.label)


def image_size(aspect_ratio: str, width: int | None, height: int | None) -> tuple[int, int]:
    """Width and height inside the Space's sliders (512-1440): about one megapixel in
    ``aspect_ratio``, in multiples of 64, unless ``width``/``height`` are given (then
    rounded to multiples of 32 and clamped).

    Raises InvalidOption for an aspect ratio that is not ``W:H`` with positive numbers.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", aspect_ratio)
    ratio = float(match[1]) / float(match[2]) if match and float(match[2]) else 0.0
    if ratio <= 0:
        raise InvalidOption(ErrorCode.NOT_A_RATIO, value=aspect_ratio[:20])
    ideal_width, ideal_height = math.sqrt(_AREA * ratio), math.sqrt(_AREA / ratio)
    shrink = min(1.0, MAX_SIDE / max(ideal_width, ideal_height))
    return (
        _snap(width, 32) if width is not None else _snap(ideal_width * shrink, 64),
        _snap(height, 32) if height is not None else _snap(ideal_height * shrink, 64),
    )


def _snap(value: float, step: int) -> int:
    return min(MAX_SIDE, max(MIN_SIDE, round(value / step) * step))
