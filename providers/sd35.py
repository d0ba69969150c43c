"""StabilityAI SD 3.5 Large on its Hugging Face Space, through Gradio's ``/gradio_api/call`` API.

One job is one POST (the inputs, answered with an ``event_id``) and one streamed GET of
that event's Server-Sent Events: ``heartbeat``, ``generating`` (previews), then ``complete``
or ``error``. The GET is never repeated: a finished event's stream only carries heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from collections.abc import AsyncGenerator
from typing import Any, ClassVar

import aiohttp

from .base import ImageSeed, ProviderContext
from .errors import (
    InvalidOption,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
)
from .http import require
from .sse import SseEvent, iter_sse
from .types import (
    EventStream,
    ImageOptions,
    ImagePreview,
    ImageRequest,
    ImageResponse,
    Messages,
    Progress,
    Stage,
    format_prompt,
)

MIN_SIDE, MAX_SIDE = 512, 1440
"""The Space's width and height sliders."""
_AREA = 1024 * 1024
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_RETRY_IN = re.compile(r"try again in (\d+):(\d{1,2}):(\d{1,2})", re.IGNORECASE)
_DRAIN_SECONDS = 1.0
"""How long to wait for the end of a stream after ``complete``, so its connection is reused."""


class StabilityAI_SD35Large(ImageSeed):
    """Text-to-image with Stable Diffusion 3.5 Large, one picture per job, free but GPU-quota bound.

    An ``HF_TOKEN`` (or ``api_key``) is sent as a Bearer token: the Space then counts the
    quota against that account instead of the anonymous one.
    """

    name = "sd35"
    label = "StabilityAI SD 3.5 Large"
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
            raise InvalidOption("The prompt is empty.")
        width, height = image_size(aspect_ratio, width, height)
        space = context.settings.sd35_space_url.rstrip("/")
        headers: dict[str, str] = {}
        token = api_key or (
            context.settings.hf_token.get_secret_value() if context.settings.hf_token else None
        )
        if token:
            headers["Authorization"] = f"Bearer {token}"
        extra: dict[str, Any] = {"proxy": proxy} if proxy is not None else {}
        loop = asyncio.get_running_loop()
        started = loop.time()

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
        submitted = await context.http.json(
            "POST",
            f"{space}{cls.api_endpoint}",
            provider=cls.label,
            json={"data": payload},
            headers=headers,
            **extra,
        )
        event_id = require(submitted, "event_id", cls.label)
        if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
            raise ResponseError("sent an unreadable job id", provider=cls.label)
        yield Progress(
            Stage.QUEUED, "Waiting in the Space's queue", loop.time() - started, job_id=event_id
        )

        generating = False
        async with (
            context.http.request(
                "GET",
                f"{space}{cls.api_endpoint}/{event_id}",
                provider=cls.label,
                headers={**headers, "Accept": "text/event-stream"},
                **extra,
            ) as response,
            contextlib.aclosing(cls._events(response, context.settings.read_timeout)) as events,
        ):
            async for event in events:
                if event.event == "generating":
                    if not generating:
                        generating = True
                        yield Progress(
                            Stage.GENERATING, "Generating", loop.time() - started, job_id=event_id
                        )
                    preview = cls._preview_url(event.data, space)
                    if preview is not None:
                        yield ImagePreview(images=[preview], alt=text)
                elif event.event == "complete":
                    image, used_seed = cls._result(event.data, space)
                    yield ImageResponse(images=[image], alt=text, seed=used_seed, model=model)
                    await _drain(response)
                    return
                elif event.event == "error":
                    raise cls._error(event.data)
        raise ProviderUnavailable("ended the stream before the image was ready", provider=cls.label)

    @classmethod
    async def _events(
        cls, response: aiohttp.ClientResponse, read_timeout: float
    ) -> AsyncGenerator[SseEvent, None]:
        """The stream's events, with a silent or broken stream turned into a ProviderError."""
        try:
            async with contextlib.aclosing(iter_sse(response, read_timeout)) as events:
                async for event in events:
                    yield event
        except TimeoutError as exc:
            raise ProviderTimeout(
                f"sent nothing for {read_timeout:g} seconds", provider=cls.label
            ) from exc
        except aiohttp.ClientError as exc:
            raise ProviderUnavailable(
                "cut the connection before the image was ready", provider=cls.label
            ) from exc

    @classmethod
    def _result(cls, data: str, space: str) -> tuple[str, int | None]:
        """The image URL and the seed of a ``complete`` event's ``[file, seed]``."""
        try:
            value = json.loads(data)
        except ValueError as exc:
            raise ResponseError("sent a result we could not read", provider=cls.label) from exc
        url = _file_url(value, space)
        if url is None:
            raise ResponseError("sent a result without an image", provider=cls.label)
        seed = value[1] if isinstance(value, list) and len(value) > 1 else None
        if isinstance(seed, float) and seed.is_integer():
            seed = int(seed)
        return url, seed if isinstance(seed, int) and not isinstance(seed, bool) else None

    @classmethod
    def _preview_url(cls, data: str, space: str) -> str | None:
        """A ``generating`` event's picture; previews are optional: unreadable ones are skipped."""
        try:
            return _file_url(json.loads(data), space)
        except ValueError:
            return None

    @classmethod
    def _error(cls, data: str) -> ResponseError | RateLimited:
        """The error an ``error`` event stands for, with the Space's message when it sent one."""
        try:
            value = json.loads(data)
        except ValueError:
            return ResponseError("reported an error we could not read", provider=cls.label)
        title = ""
        if isinstance(value, dict):
            title = str(value.get("title") or "")
            value = value.get("error")
        if not isinstance(value, str) or not value.strip():
            return ResponseError(
                "failed (wrong inputs or an error in the Space)", provider=cls.label
            )
        message = " ".join(value.split())[:300]
        if "quota" in f"{title} {message}".lower():
            return RateLimited(
                f"is out of GPU quota: {message}",
                provider=cls.label,
                retry_after=_retry_after(message),
            )
        return ResponseError(f"failed: {message}", provider=cls.label)


def image_size(aspect_ratio: str, width: int | None, height: int | None) -> tuple[int, int]:
    """Width and height inside the Space's sliders (512-1440): about one megapixel in
    ``aspect_ratio``, in multiples of 64, unless ``width``/``height`` are given (then
    rounded to multiples of 32 and clamped).

    Raises InvalidOption for an aspect ratio that is not ``W:H`` with positive numbers.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", aspect_ratio)
    ratio = float(match[1]) / float(match[2]) if match and float(match[2]) else 0.0
    if ratio <= 0:
        raise InvalidOption(f"'{aspect_ratio[:20]}' is not an aspect ratio like 16:9.")
    ideal_width, ideal_height = math.sqrt(_AREA * ratio), math.sqrt(_AREA / ratio)
    shrink = min(1.0, MAX_SIDE / max(ideal_width, ideal_height))
    return (
        _snap(width, 32) if width is not None else _snap(ideal_width * shrink, 64),
        _snap(height, 32) if height is not None else _snap(ideal_height * shrink, 64),
    )


def _snap(value: float, step: int) -> int:
    return min(MAX_SIDE, max(MIN_SIDE, round(value / step) * step))


def _file_url(value: Any, space: str) -> str | None:
    """The first output's URL in Gradio's data list: a FileData's ``url``, else its ``path``."""
    first = value[0] if isinstance(value, list) and value else value
    if isinstance(first, str) and first.startswith(("http://", "https://")):
        first = {"url": first}
    elif isinstance(first, str) and first.startswith("/"):
        first = {"path": first}
    if not isinstance(first, dict):
        return None
    url, path = first.get("url"), first.get("path")
    if isinstance(url, str) and url:
        return url
    if isinstance(path, str) and path:
        return f"{space}/gradio_api/file={path}"
    return None


def _retry_after(message: str) -> float | None:
    """Seconds from ZeroGPU's "Try again in H:MM:SS", when the message has it."""
    match = _RETRY_IN.search(message)
    if match is None:
        return None
    hours, minutes, seconds = (int(part) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Reads what is left of a finished stream, briefly, so its connection can be reused."""
    with contextlib.suppress(TimeoutError, aiohttp.ClientError):
        async with asyncio.timeout(_DRAIN_SECONDS):
            while await response.content.readany():
                pass
