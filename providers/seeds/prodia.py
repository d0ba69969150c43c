"""Prodia: Stable Diffusion 1.x checkpoints behind a submit-then-poll job API (seed 002)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, ClassVar
from urllib.parse import quote

from providers.core.errors import (
    ErrorCode,
    InvalidOption,
    ProviderError,
    ProviderTimeout,
    ResponseError,
)
from providers.core.http import require
from providers.core.polling import Pacer, PollPace, TransientFaults, upstream_hints
from providers.core.provider import ImageSeed, ProviderContext
from providers.core.types import (
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Message,
    Messages,
    Progress,
    Stage,
    format_prompt,
)

CHECKPOINTS: tuple[str, ...] = (
    "3Guofeng3_v34.safetensors [50f420de]",
    "absolutereality_V16.safetensors [37db0fc3]",
    "absolutereality_v181.safetensors [3d9d4d2b]",
    "amIReal_V41.safetensors [0a8a2e61]",
    "analog-diffusion-1.0.ckpt [9ca13f02]",
    "aniverse_v30.safetensors [579e6f85]",
    "anythingv3_0-pruned.ckpt [2700c435]",
    "anything-v4.5-pruned.ckpt [65745d25]",
    "anythingV5_PrtRE.safetensors [893e49b9]",
    "AOM3A3_orangemixs.safetensors [9600da17]",
    "blazing_drive_v10g.safetensors [ca1c1eab]",
    "breakdomain_I2428.safetensors [43cc7d2f]",
    "breakdomain_M2150.safetensors [15f7afca]",
    "cetusMix_Version35.safetensors [de2f2560]",
    "childrensStories_v13D.safetensors [9dfaabcb]",
    "childrensStories_v1SemiReal.safetensors [a1c56dbb]",
    "childrensStories_v1ToonAnime.safetensors [2ec7b88b]",
    "Counterfeit_v30.safetensors [9e2a8f19]",
    "cuteyukimixAdorable_midchapter3.safetensors [04bdffe6]",
    "cyberrealistic_v33.safetensors [82b0d085]",
    "dalcefo_v4.safetensors [425952fe]",
    "deliberate_v2.safetensors [10ec4b29]",
    "deliberate_v3.safetensors [afd9d2d4]",
    "dreamlike-anime-1.0.safetensors [4520e090]",
    "dreamlike-diffusion-1.0.safetensors [5c9fd6e0]",
    "dreamlike-photoreal-2.0.safetensors [fdcf65e7]",
    "dreamshaper_6BakedVae.safetensors [114c8abb]",
    "dreamshaper_7.safetensors [5cf5ae06]",
    "dreamshaper_8.safetensors [9d40847d]",
    "edgeOfRealism_eorV20.safetensors [3ed5de15]",
    "EimisAnimeDiffusion_V1.ckpt [4f828a15]",
    "elldreths-vivid-mix.safetensors [342d9d26]",
    "epicphotogasm_xPlusPlus.safetensors [1a8f6d35]",
    "epicrealism_naturalSinRC1VAE.safetensors [90a4c676]",
    "epicrealism_pureEvolutionV3.safetensors [42c8440c]",
    "ICantBelieveItsNotPhotography_seco.safetensors [4e7a3dfd]",
    "indigoFurryMix_v75Hybrid.safetensors [91208cbb]",
    "juggernaut_aftermath.safetensors [5e20c455]",
    "lofi_v4.safetensors [ccc204d6]",
    "lyriel_v16.safetensors [68fceea2]",
    "majicmixRealistic_v4.safetensors [29d0de58]",
    "mechamix_v10.safetensors [ee685731]",
    "meinamix_meinaV9.safetensors [2ec66ab0]",
    "meinamix_meinaV11.safetensors [b56ce717]",
    "neverendingDream_v122.safetensors [f964ceeb]",
    "openjourney_V4.ckpt [ca2f377f]",
    "pastelMixStylizedAnime_pruned_fp16.safetensors [793a26e8]",
    "portraitplus_V1.0.safetensors [1400e684]",
    "protogenx34.safetensors [5896f8d5]",
    "Realistic_Vision_V1.4-pruned-fp16.safetensors [8d21810b]",
    "Realistic_Vision_V2.0.safetensors [79587710]",
    "Realistic_Vision_V4.0.safetensors [29a7afaa]",
    "Realistic_Vision_V5.0.safetensors [614d1063]",
    "Realistic_Vision_V5.1.safetensors [a0f13c83]",
    "redshift_diffusion-V10.safetensors [1400e684]",
    "revAnimated_v122.safetensors [3f4fefd9]",
    "rundiffusionFX25D_v10.safetensors [cd12b0ee]",
    "rundiffusionFX_v10.safetensors [cd4e694d]",
    "sdv1_4.ckpt [7460a6fa]",
    "v1-5-pruned-emaonly.safetensors [d7049739]",
    "v1-5-inpainting.safetensors [21c7ab71]",
    "shoninsBeautiful_v10.safetensors [25d8c546]",
    "theallys-mix-ii-churned.safetensors [5d9225a4]",
    "timeless-1.0.ckpt [7c4971d4]",
    "toonyou_beta6.safetensors [980f6b15]",
)
"""Upstream checkpoint names, exactly as Prodia spells them (file name plus short hash)."""

_WEIGHT_SUFFIXES = (".safetensors", ".ckpt")

# Transient failures tolerated in a row while polling a job that is already submitted.


def checkpoint_alias(checkpoint: str) -> str:
    """The short, lower-case alias of a checkpoint: its file stem without hash and extension.

    ``"Realistic_Vision_V5.1.safetensors [a0f13c83]"`` becomes ``"realistic_vision_v5.1"``.
    """
    stem = checkpoint.split(" [", 1)[0].strip()
    for suffix in _WEIGHT_SUFFIXES:
        stem = stem.removesuffix(suffix)
    return stem.lower()


def derive_aliases(checkpoints: tuple[str, ...]) -> dict[str, str]:
    """Alias -> checkpoint for every checkpoint; raises ValueError if two share an alias."""
    aliases: dict[str, str] = {}
    for checkpoint in checkpoints:
        alias = checkpoint_alias(checkpoint)
        if alias in aliases:
            raise ValueError(f"{checkpoint!r} and {aliases[alias]!r} share the alias {alias!r}")
        aliases[alias] = checkpoint
    return aliases


class Prodia(ImageSeed):
    """Prodia's free generator: one image per job, polled until it succeeds or fails.

    The generator yields ``Progress`` (submitted, then each change of the job's status)
    and finally one ``ImageResponse`` whose single image is the URL of the PNG on
    ``settings.prodia_image_url``.
    """

    name = "prodia"
    label = "Prodia"
    url = "https://app.prodia.com"
    working = True
    typical_seconds: ClassVar[float | None] = 5.0
    # The production endpoint, for reference; requests go to settings.prodia_api_url.
    api_endpoint: ClassVar[str] = "https://api.prodia.com/generate"

    default_model = "absolutereality_v181.safetensors [3d9d4d2b]"
    default_image_model = default_model
    image_models: ClassVar[list[str]] = list(CHECKPOINTS)
    models: ClassVar[list[str]] = list(CHECKPOINTS)
    model_aliases: ClassVar[dict[str, str]] = derive_aliases(CHECKPOINTS)

    SAMPLERS: ClassVar[tuple[str, ...]] = (
        "Euler",
        "Euler a",
        "Heun",
        "DPM++ 2M Karras",
        "DPM++ SDE Karras",
        "DDIM",
    )
    ASPECT_RATIOS: ClassVar[tuple[str, ...]] = ("square", "portrait", "landscape")
    STEPS: ClassVar[tuple[int, int]] = (1, 25)
    CFG: ClassVar[tuple[float, float]] = (0, 20)

    options = ImageOptions(max_images=1, steps=STEPS, cfg=CFG, aspect_ratios=("1:1", "2:3", "3:2"))
    _RATIO_NAMES: ClassVar[dict[str, str]] = {
        "1:1": "square",
        "2:3": "portrait",
        "3:2": "landscape",
    }

    @classmethod
    def image_kwargs(cls, request: ImageRequest) -> dict[str, Any]:
        """Generator parameters for ``request``; values left as ``None`` are not passed."""
        aspect_ratio = None
        if request.aspect_ratio is not None:
            aspect_ratio = cls._RATIO_NAMES.get(request.aspect_ratio)
            if aspect_ratio is None:
                allowed = ", ".join(cls._RATIO_NAMES)
                raise InvalidOption(ErrorCode.RATIOS, model="Prodia", allowed=allowed)
        kwargs: dict[str, Any] = {
            "aspect_ratio": aspect_ratio,
            "steps": request.steps,
            "cfg": request.cfg,
            "seed": request.seed,
            "negative_prompt": request.negative_prompt,
        }
        return {key: value for key, value in kwargs.items() if value is not None}

    def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """The seed generator, its polls paced by how long this provider's jobs take
        (:attr:`pacer`)."""
        kwargs = self.image_kwargs(request)
        messages: list[Message] = [{"role": "user", "content": request.prompt}]
        return self.create_async_generator(
            upstream, messages, context=context, pacer=self.pacer, **kwargs
        )

    @classmethod
    def validate(cls, *, steps: int, cfg: float, sampler: str, aspect_ratio: str) -> None:
        """Raises InvalidOption naming the allowed values when one does not fit Prodia."""
        if sampler not in cls.SAMPLERS:
            raise InvalidOption(
                ErrorCode.NO_SUCH_SAMPLER,
                model="Prodia",
                value=sampler,
                allowed=", ".join(cls.SAMPLERS),
            )
        if aspect_ratio not in cls.ASPECT_RATIOS:
            allowed = ", ".join(cls.ASPECT_RATIOS)
            raise InvalidOption(
                ErrorCode.NO_SUCH_RATIO, model="Prodia", value=aspect_ratio, allowed=allowed
            )
        low, high = cls.STEPS
        if isinstance(steps, bool) or not isinstance(steps, int) or not low <= steps <= high:
            raise InvalidOption(ErrorCode.STEPS_WHOLE, model="Prodia", low=low, high=high)
        low_cfg, high_cfg = cls.CFG
        if (
            isinstance(cfg, bool)
            or not isinstance(cfg, int | float)
            or not low_cfg <= cfg <= high_cfg
        ):
            raise InvalidOption(
                ErrorCode.GUIDANCE_RANGE, model="Prodia", low=low_cfg, high=high_cfg
            )

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        *,
        context: ProviderContext,
        proxy: str | None = None,
        negative_prompt: str = "",
        steps: int = 20,
        cfg: float = 7,
        seed: int | None = None,
        sampler: str = "DPM++ 2M Karras",
        aspect_ratio: str = "square",
        max_attempts: int = 30,
        delay: float | None = None,
        pacer: Pacer | None = None,
        **kwargs: Any,
    ) -> EventStream:
        """Submits one job and follows it: ``Progress`` events, then one ``ImageResponse``.

        Raises UnknownModel for a model Prodia does not list, InvalidOption for an
        option outside Prodia's ranges, ResponseError when the job fails or an answer
        cannot be read, ProviderTimeout when the job is not done after ``max_attempts``
        polls ``delay`` seconds apart (default ``settings.poll_interval``), and the
        HTTP layer's errors (RateLimited, ProviderUnavailable, ...) otherwise. With a
        ``pacer`` (and no ``delay``) the pauses between polls follow it instead.
        """
        model = cls.get_model(model)
        cls.validate(steps=steps, cfg=cfg, sampler=sampler, aspect_ratio=aspect_ratio)
        prompt = format_prompt(messages)
        if not prompt:
            raise InvalidOption(ErrorCode.EMPTY_PROMPT)
        if seed is None:
            seed = random.randint(0, 2**31 - 1)
        params = {
            "new": "true",
            "prompt": prompt,
            "model": model,
            "negative_prompt": negative_prompt or "",
            "steps": str(steps),
            "cfg": f"{cfg:g}",
            "seed": str(seed),
            "sampler": sampler,
            "aspect_ratio": aspect_ratio,
        }
        api = context.settings.prodia_api_url.rstrip("/")
        pace = (
            pacer.start(context.settings.poll_interval, model=model)
            if pacer and delay is None
            else None
        )
        data = await context.http.json(
            "GET",
            f"{api}/generate",
            provider=cls.label,
            params=params,
            headers=cls._headers(),
            **_proxy_kwargs(proxy),
        )
        job_id = str(require(data, "job", cls.label))
        started = asyncio.get_running_loop().time()
        yield Progress(Stage.SUBMITTED, "Sent to Prodia", 0.0, job_id=job_id)

        polls = cls._poll_job(
            context,
            job_id,
            proxy,
            max_attempts=max_attempts,
            delay=delay,
            started=started,
            pace=pace,
        )
        async with aclosing(polls):
            async for progress in polls:
                yield progress

        yield cls._result(context, job_id, prompt, seed, model)

    def resume(
        self, upstream: str, job: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """Follows a job submitted before a restart, from its id, without submitting again."""
        pace = self.pacer.start(context.settings.poll_interval, model=upstream, resumed=True)
        return self._resumed(upstream, job, request, context, pace)

    @classmethod
    async def _resumed(
        cls,
        model: str,
        job_id: str,
        request: ImageRequest,
        context: ProviderContext,
        pace: PollPace,
    ) -> EventStream:
        polls = cls._poll_job(context, job_id, pace=pace)
        async with aclosing(polls):
            async for progress in polls:
                yield progress
        yield cls._result(context, job_id, request.prompt, request.seed, model)

    @classmethod
    def _result(
        cls, context: ProviderContext, job_id: str, prompt: str, seed: int | None, model: str
    ) -> ImageResponse:
        image_root = context.settings.prodia_image_url.rstrip("/")
        return ImageResponse(
            images=[f"{image_root}/{quote(job_id, safe='')}.png"],
            alt=prompt,
            seed=seed,
            model=model,
        )

    @classmethod
    async def _poll_job(
        cls,
        context: ProviderContext,
        job_id: str,
        proxy: str | None = None,
        *,
        max_attempts: int = 30,
        delay: float | None = None,
        started: float | None = None,
        pace: PollPace | None = None,
    ) -> AsyncGenerator[Progress, None]:
        """Polls the job until it succeeded, yielding a ``Progress`` for each status change.

        Ends normally once the job succeeded. Raises ResponseError if it failed,
        ProviderTimeout after ``max_attempts`` polls without a result. Up to
        ``POLL_RETRIES`` transient errors in a row (5xx, 429, network) are waited out,
        since the job itself keeps running upstream. Without ``pace`` the first poll is at
        once and the others ``delay`` seconds apart; with it, every poll waits
        ``pace.next_pause()``, and the job's duration is learned once it succeeded.
        """
        loop = asyncio.get_running_loop()
        if delay is None:
            delay = context.settings.poll_interval
        if started is None:
            started = loop.time()
        url = f"{context.settings.prodia_api_url.rstrip('/')}/job/{quote(job_id, safe='')}"
        last_status: str | None = None
        faults = TransientFaults()
        for attempt in range(max_attempts):
            if pace:
                await pace.wait()
            elif attempt:
                await asyncio.sleep(delay)
            try:
                data = await context.http.json(
                    "GET", url, provider=cls.label, headers=cls._headers(), **_proxy_kwargs(proxy)
                )
            except ProviderError as error:
                faults.absorb(error)
                if attempt == max_attempts - 1:
                    raise
                continue
            faults.reset()
            status = require(data, "status", cls.label)
            if pace:
                upstream_hints(pace, data, drawing=status == "generating")
            if status == "succeeded":
                if pace:
                    pace.finished()
                return
            if status == "failed":
                raise ResponseError(ErrorCode.GENERATION_FAILED, provider=cls.label)
            if status != last_status and status in _STAGES:
                stage, label = _STAGES[status]
                yield Progress(stage, label, loop.time() - started, job_id=job_id)
            last_status = status
        raise ProviderTimeout(ErrorCode.STATUS_CHECKS, provider=cls.label, attempts=max_attempts)

    @classmethod
    def _headers(cls) -> dict[str, str]:
        return {"Origin": cls.url, "Referer": f"{cls.url}/", "Accept": "*/*"}


_STAGES: dict[str, tuple[Stage, str]] = {
    "queued": (Stage.QUEUED, "Waiting in Prodia's queue"),
    "generating": (Stage.GENERATING, "Prodia is drawing"),
}


def _proxy_kwargs(proxy: str | None) -> dict[str, Any]:
    """A per-request HTTP(S) proxy; without one the pool's own proxy setting applies."""
    return {"proxy": proxy} if proxy else {}
