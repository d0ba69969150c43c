"""fal: any app on fal's queue (``fal-ai/flux/schnell``, ...), with queue positions and cancel.

Protocol: POST ``{queue}/{app}`` with the app's input JSON and ``Authorization: Key <key>``
answers ``{request_id, status_url, response_url, cancel_url}``. GET status_url says
``IN_QUEUE`` (with ``queue_position``), ``IN_PROGRESS`` or ``COMPLETED``; GET response_url then
gives ``{images: [{url, width, height, content_type}], seed}``; PUT cancel_url drops the job.
The three addresses are used exactly as fal sends them: built by hand they would lose the
app's sub-path (``/schnell``).

Edit apps (``edit_models``) run through the same queue with the request's pictures in the app's
input field as data URIs (see :mod:`providers.live.fal_edits`). fal's moderation answers 422
with ``detail: [{type: "content_policy_violation", msg, ...}]``, at submission or when the
result is fetched: that is a :class:`Refused`, not a failure of fal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from providers.core.errors import (
    ErrorCode,
    ProviderError,
    Refused,
    ResponseError,
)
from providers.core.http import require
from providers.core.outputs import image_source, upstream_error
from providers.core.polling import PollPace, cancel_quietly, poll, same_origin
from providers.core.provider import Kind, ModelSpec, Provider, ProviderContext
from providers.core.types import (
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Progress,
    Stage,
)
from providers.live.fal_edits import edit_app, edit_input

if TYPE_CHECKING:
    from providers.core.entry import ProviderConfig

POLICY_VIOLATION = "content_policy_violation"
"""The ``detail[].type`` (and status ``error_type``) of a request fal's moderation refused."""

RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9", "9:21")
"""Aspect ratios every fal text-to-image app here takes (named sizes, or width and height)."""

NAMED_SIZES = {
    "1:1": "square_hd",
    "4:3": "landscape_4_3",
    "3:4": "portrait_4_3",
    "16:9": "landscape_16_9",
    "9:16": "portrait_16_9",
}
"""fal's own names for the common ratios; the others are sent as ``{width, height}``."""

APPS: dict[str, ImageOptions] = {
    "fal-ai/flux/schnell": ImageOptions(
        max_images=4, steps=(1, 12), aspect_ratios=RATIOS, negative_prompt=False
    ),
    "fal-ai/flux/dev": ImageOptions(
        max_images=4, steps=(1, 50), cfg=(1, 20), aspect_ratios=RATIOS, negative_prompt=False
    ),
    "fal-ai/flux-pro/v1.1": ImageOptions(max_images=4, aspect_ratios=RATIOS, negative_prompt=False),
    "fal-ai/stable-diffusion-v35-large": ImageOptions(
        max_images=4, steps=(1, 50), cfg=(0, 20), aspect_ratios=RATIOS
    ),
    "fal-ai/fast-sdxl": ImageOptions(
        max_images=8, steps=(1, 50), cfg=(0, 20), aspect_ratios=RATIOS
    ),
}
"""What the apps we know take; other apps get :data:`ANY_APP`."""

ANY_APP = ImageOptions(max_images=1, aspect_ratios=RATIOS, negative_prompt=False)
"""An app we know nothing about: a prompt, a size and a seed are all we dare send."""


def options_for(app: str) -> ImageOptions:
    """What a request to ``app`` may ask for."""
    return APPS.get(app.strip("/"), ANY_APP)


def image_size(aspect_ratio: str) -> str | dict[str, int]:
    """fal's ``image_size`` for a ratio: its name, or width and height near one megapixel in
    multiples of 64."""
    if aspect_ratio in NAMED_SIZES:
        return NAMED_SIZES[aspect_ratio]
    w, h = (int(part) for part in aspect_ratio.split(":"))
    width = round(math.sqrt(1024 * 1024 * w / h) / 64) * 64
    height = round(math.sqrt(1024 * 1024 * h / w) / 64) * 64
    return {"width": width, "height": height}


def app_input(request: ImageRequest) -> dict[str, Any]:
    """The input JSON for a request already checked against the app's options: only the
    values the user gave, so the app's own defaults apply to the rest."""
    body: dict[str, Any] = {"prompt": request.prompt}
    if request.n > 1:
        body["num_images"] = request.n
    if request.aspect_ratio:
        body["image_size"] = image_size(request.aspect_ratio)
    if request.negative_prompt:
        body["negative_prompt"] = request.negative_prompt
    if request.seed is not None:
        body["seed"] = request.seed
    if request.steps is not None:
        body["num_inference_steps"] = request.steps
    if request.cfg is not None:
        body["guidance_scale"] = request.cfg
    return body


def policy_refusal(payload: Any) -> str | None:
    """fal's own words when an error body says its moderation refused the request
    (``detail: [{type: "content_policy_violation", msg}]``; "" without words), else None."""
    detail = payload.get("detail") if isinstance(payload, dict) else None
    for item in detail if isinstance(detail, list) else []:
        if isinstance(item, dict) and item.get("type") == POLICY_VIOLATION:
            return str(item.get("msg") or "")
    return None


@dataclass(frozen=True)
class _Queued:
    """A request fal accepted, with the addresses it answered (never built by us)."""

    request_id: str
    status_url: str
    response_url: str
    cancel_url: str


class Fal(Provider):
    """One fal account: the configured apps as image and edit models, run through fal's
    queue."""

    # No typical_seconds: an app's time varies from one to tens of seconds, and fal's queue
    # positions say when ours is near.

    def __init__(self, config: ProviderConfig, api_key: SecretStr | None) -> None:
        self.name = config.name
        self.label = config.title
        self.queue = config.url
        self._config = config
        self._models = config.models(Kind.IMAGE)
        self._key = api_key

    def __repr__(self) -> str:
        return f"Fal(name={self.name!r}, queue={self.queue!r})"

    def offers(self) -> list[ModelSpec]:
        images = [ModelSpec(a, app, Kind.IMAGE, options_for(app)) for a, app in self._models]
        edits = [
            ModelSpec(alias, model.upstream, Kind.EDIT, edit_app(model).options)
            for alias, model in self._config.edit_entries()
        ]
        return images + edits

    def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """Progress (submitted; each new queue position as "#3 in fal's queue"; drawing) with
        the request_id as job_id, then one ImageResponse of the result's URLs and seed.

        An edit (``request.images``) sends its pictures in the edit app's field. Closing the
        stream before the result (a cancel, the job deadline) PUTs cancel_url. Raises Refused
        when fal's moderation turns the request down, the HTTP layer's errors (AuthError,
        RateLimited, ProviderUnavailable, ...) and ResponseError for an answer we cannot read
        or an app that reports an error.
        """
        body = app_input(request)
        if request.is_edit:
            body = edit_input(edit_app(self._config.edit_model(upstream)), request, body)
        return self._run(upstream.strip("/"), request, body, context)

    async def _run(
        self, app: str, request: ImageRequest, body: dict[str, Any], context: ProviderContext
    ) -> EventStream:
        pace = self.pacer.start(context.settings.poll_interval, model=app)
        submitted = await self._call(context, "POST", f"{self.queue}/{app}", json=body)
        queued = _Queued(
            request_id=str(require(submitted, "request_id", self.label)),
            status_url=self._address(submitted, "status_url"),
            response_url=self._address(submitted, "response_url"),
            cancel_url=self._address(submitted, "cancel_url"),
        )
        async with aclosing(self._track(app, queued, request.prompt, context, pace)) as events:
            async for event in events:
                yield event

    def resume(
        self, upstream: str, job: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream | None:
        """Follows a request queued before a restart (``job`` is the ``resume`` of its
        Progress), without submitting it again; None for a token we cannot read."""
        try:
            queued = _Queued(**json.loads(job))
        except (ValueError, TypeError):
            return None
        addresses = (queued.status_url, queued.response_url, queued.cancel_url)
        if not all(same_origin(url, self.queue) for url in addresses):
            return None
        app = upstream.strip("/")
        pace = self.pacer.start(context.settings.poll_interval, model=app, resumed=True)
        return self._track(app, queued, request.prompt, context, pace)

    async def _track(
        self, app: str, queued: _Queued, prompt: str, context: ProviderContext, pace: PollPace
    ) -> EventStream:
        """Progress until the request is done (cancelling it upstream if we stop reading
        first), then one ImageResponse."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        resume = json.dumps(dataclasses.asdict(queued))
        request_id = queued.request_id
        yield Progress(
            Stage.SUBMITTED, f"Sent to {self.label}", 0.0, job_id=request_id, resume=resume
        )
        try:
            async with aclosing(self._follow(queued, context, pace)) as states:
                async for stage, label, position in states:
                    yield Progress(
                        stage,
                        label,
                        loop.time() - started,
                        job_id=request_id,
                        resume=resume,
                        queue_position=position,
                    )
        except (GeneratorExit, asyncio.CancelledError):
            if not context.stopping:
                await cancel_quietly(
                    lambda: self._put(context, queued.cancel_url), f"{self.label} ({request_id})"
                )
            raise

        result = await self._call(context, "GET", queued.response_url)
        yield self._response(result, prompt, app)

    async def _follow(
        self, queued: _Queued, context: ProviderContext, pace: PollPace
    ) -> AsyncGenerator[tuple[Stage, str, int | None], None]:
        """(stage, label, 1-based queue position) at each change of the request's state; ends
        once it is COMPLETED. A request that completed with an error raises it (Refused when
        fal's moderation refused it, else ResponseError in the app's words).

        fal counts ``queue_position`` from 0 (next to run); users read it from 1. Polls are
        paced by ``pace``, at the longest pause while other requests are ahead in the queue.
        """

        async def status() -> Any:
            return await context.http.json(
                "GET", queued.status_url, provider=self.label, headers=self._headers()
            )

        last: str | None = None

        async with aclosing(poll(status, pace)) as answers:
            async for answer in answers:
                state = require(answer, "status", self.label)
                if state == "COMPLETED":
                    if isinstance(answer, dict) and answer.get("error"):
                        raise await self._failure(answer, queued, context)
                    pace.finished()
                    return
                place = answer.get("queue_position") if isinstance(answer, dict) else None
                position = place + 1 if isinstance(place, int) else None
                ahead = place if isinstance(place, int) and state == "IN_QUEUE" else 0
                pace.hint(queue_position=ahead)  # the longest pause while others are ahead
                if state == "IN_PROGRESS":
                    pace.drawing()
                if state == "IN_QUEUE":
                    where = f"#{position} in" if position else "Waiting in"
                    stage, label = Stage.QUEUED, f"{where} {self.label}'s queue"
                elif state == "IN_PROGRESS":
                    stage, label, position = Stage.GENERATING, f"{self.label} is drawing", None
                else:
                    raise ResponseError(ErrorCode.UNKNOWN_STATUS, provider=self.label, status=state)
                if label != last:
                    last = label
                    yield stage, label, position

    async def _failure(
        self, status: dict[str, Any], queued: _Queued, context: ProviderContext
    ) -> ProviderError:
        """The error of a request that completed with one. Its status says only a little, so
        a refusal is also looked for in the result, where fal spells it out."""
        if status.get("error_type") == POLICY_VIOLATION:
            return self._refused(str(status["error"]))
        try:
            await self._call(context, "GET", queued.response_url)
        except Refused as refused:
            return refused
        except ProviderError:
            pass
        reason = upstream_error(status["error"], self._secret)
        return ResponseError(ErrorCode.COULD_NOT_DRAW, provider=self.label, reason=reason)

    def _refused(self, words: str) -> Refused:
        if not words.strip():
            return Refused(ErrorCode.MODERATION, provider=self.label)
        reason = upstream_error(words, self._secret)
        return Refused(ErrorCode.MODERATION_REASON, provider=self.label, reason=reason)

    async def _call(self, context: ProviderContext, method: str, url: str, **kwargs: Any) -> Any:
        """The decoded JSON answer of one request to fal, signed with our key: Refused for
        fal's 422 ``content_policy_violation``, otherwise the shared HTTP layer's errors."""
        return await context.http.json(
            method,
            url,
            provider=self.label,
            refusal=self._refusal,
            headers=self._headers(),
            **kwargs,
        )

    def _refusal(self, status: int, body: bytes) -> Refused | None:
        words = policy_refusal(_decoded(body)) if status == 422 else None
        return self._refused(words) if words is not None else None

    def _response(self, result: Any, prompt: str, app: str) -> ImageResponse:
        images = require(result, "images", self.label)
        if not isinstance(images, list):
            raise ResponseError(ErrorCode.INCOMPLETE, provider=self.label, key="images")
        flagged = result.get("has_nsfw_concepts") or []
        kept = [
            image_source(require(image, "url", self.label), self.label)
            for index, image in enumerate(images)
            if not (index < len(flagged) and flagged[index] is True)
        ]
        if not kept:
            raise ResponseError(ErrorCode.SAFETY_CHECKER, provider=self.label)
        seed = result.get("seed")
        return ImageResponse(
            images=kept, alt=prompt, seed=seed if isinstance(seed, int) else None, model=app
        )

    def _address(self, submitted: Any, key: str) -> str:
        """One of the addresses fal answered with; refused if it leaves the queue's host."""
        url = str(require(submitted, key, self.label))
        if not same_origin(url, self.queue):
            raise ResponseError(ErrorCode.FOREIGN_HOST, provider=self.label, key=key)
        return url

    async def _put(self, context: ProviderContext, cancel_url: str) -> None:
        async with context.http.request(
            "PUT", cancel_url, provider=self.label, headers=self._headers()
        ):
            pass

    @property
    def _secret(self) -> str | None:
        return self._key.get_secret_value() if self._key is not None else None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._secret}"} if self._secret else {}


def _decoded(raw: bytes) -> Any:
    """A JSON error body, or None when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return None
