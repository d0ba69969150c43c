"""Replicate: predictions of hosted models (``black-forest-labs/flux-schnell``, ...), with cancel.

Protocol: POST ``{base}/models/{owner}/{name}/predictions`` ``{input: {...}}`` (or, for a
pinned ``owner/name:version``, POST ``{base}/predictions`` ``{version, input}``) with a Bearer
token and ``Prefer: wait=N``, which holds the answer up to N seconds, so that a fast model's
prediction comes back finished and needs no poll. Otherwise GET ``urls.get`` until the status is
``succeeded`` (``output``: one URL or a list), ``failed`` (``error``) or ``canceled``; POST
``urls.cancel`` drops it.

Edit models (``edit_models``) are predictions too, with the request's pictures in the model's
input field as data URLs, or as files-API URLs when too large (see
:mod:`providers.live.replicate_edits`). A prediction that failed because its input or output
was flagged as sensitive (E005) is a :class:`Refused`, not a failure of Replicate.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import SecretStr

from providers.core.errors import ErrorCode, Refused, ResponseError
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
from providers.live.replicate_edits import EditInputs, edit_options

if TYPE_CHECKING:
    from providers.core.entry import ProviderConfig

RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
"""The ``aspect_ratio`` values the FLUX models on Replicate accept."""

MODELS: dict[str, ImageOptions] = {
    "black-forest-labs/flux-schnell": ImageOptions(
        max_images=4, steps=(1, 4), aspect_ratios=RATIOS, negative_prompt=False
    ),
    "black-forest-labs/flux-dev": ImageOptions(
        max_images=4, steps=(1, 50), cfg=(0, 10), aspect_ratios=RATIOS, negative_prompt=False
    ),
    "black-forest-labs/flux-pro": ImageOptions(
        steps=(1, 50), cfg=(2, 5), aspect_ratios=RATIOS, negative_prompt=False
    ),
    "black-forest-labs/flux-1.1-pro": ImageOptions(aspect_ratios=RATIOS, negative_prompt=False),
}
"""What the models we know take; any other model gets :data:`ANY_MODEL`."""

ANY_MODEL = ImageOptions(aspect_ratios=RATIOS, negative_prompt=False)
"""A model we know nothing about: a prompt, an aspect ratio and a seed are all we send."""

PREFER_WAIT = 10
"""Seconds Replicate may hold the creating request (1-60): FLUX schnell is done well within."""

_SEED_IN_LOGS = re.compile(r"(?i)using seed:\s*(\d+)")
_SENSITIVE = re.compile(r"(?i)\bE005\b|flagged as sensitive")
"""How Replicate says its moderation refused a prediction's input or output."""


def options_for(model: str) -> ImageOptions:
    """What a request to ``model`` (``owner/name`` or ``owner/name:version``) may ask for."""
    return MODELS.get(model.split(":", 1)[0], ANY_MODEL)


def model_input(request: ImageRequest) -> dict[str, Any]:
    """The ``input`` object for a request already checked against the model's options: only
    the values the user gave, so the model's own defaults apply to the rest."""
    body: dict[str, Any] = {"prompt": request.prompt}
    if request.aspect_ratio:
        body["aspect_ratio"] = request.aspect_ratio
    if request.n > 1:
        body["num_outputs"] = request.n
    if request.seed is not None:
        body["seed"] = request.seed
    if request.steps is not None:
        body["num_inference_steps"] = request.steps
    if request.cfg is not None:
        body["guidance"] = request.cfg
    return body


class Replicate(Provider):
    """One Replicate account: the configured models as image and edit models."""

    # No typical_seconds: a model's time varies too much to declare one, and ``Prefer: wait``
    # often brings the prediction back finished.

    def __init__(self, config: ProviderConfig, api_key: SecretStr | None) -> None:
        self.name = config.name
        self.label = config.title
        self.base = config.url
        self._config = config
        self._models = config.models(Kind.IMAGE)
        self._key = api_key
        self._edits = EditInputs(self.base, self.label, self._headers)

    def __repr__(self) -> str:
        return f"Replicate(name={self.name!r}, base={self.base!r})"

    def offers(self) -> list[ModelSpec]:
        images = [ModelSpec(a, m, Kind.IMAGE, options_for(m)) for a, m in self._models]
        edits = [
            ModelSpec(alias, model.upstream, Kind.EDIT, edit_options(model))
            for alias, model in self._config.edit_entries()
        ]
        return images + edits

    def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """Progress (submitted, starting, drawing) with the prediction id as job_id, then one
        ImageResponse of the output URLs, with the seed when it is known.

        An edit (``request.images``) sends its pictures in the edit model's field first. Closing
        the stream before the result (a cancel, the job deadline) POSTs the cancel URL. Raises
        Refused when Replicate's moderation flagged the prediction (E005), InvalidOption when
        the model's schema shows it cannot take the request's pictures or strength, the HTTP
        layer's errors (AuthError, RateLimited, ProviderUnavailable, ...) and ResponseError for
        a failed or cancelled prediction (with the model's own reason) or an answer we cannot
        read.
        """
        return self._run(upstream, request, context)

    async def _run(
        self, model: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        pace = self.pacer.start(context.settings.poll_interval, model=model)
        body = model_input(request)
        if request.is_edit:
            edit = self._config.edit_model(model)
            body = await self._edits.fill(body, edit, self._model_id(model), request, context)
        prediction = await self._create(model, body, context)
        async with aclosing(self._track(model, prediction, request, context, pace)) as events:
            async for event in events:
                yield event

    def resume(
        self, upstream: str, job: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """Follows a prediction created before a restart, from its id, without creating it
        again."""
        pace = self.pacer.start(context.settings.poll_interval, model=upstream, resumed=True)
        return self._track(upstream, {"id": job, "status": "starting"}, request, context, pace)

    async def _track(
        self,
        model: str,
        prediction: dict[str, Any],
        request: ImageRequest,
        context: ProviderContext,
        pace: PollPace,
    ) -> EventStream:
        """Progress until the prediction is over (cancelling it upstream if we stop reading
        first), then one ImageResponse."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        prediction_id = str(require(prediction, "id", self.label))
        yield Progress(Stage.SUBMITTED, f"Sent to {self.label}", 0.0, job_id=prediction_id)

        get_url = self._address(prediction, "get", f"/predictions/{quote(prediction_id)}")
        last: str | None = None
        try:
            polled = self._polled(prediction, get_url, context, pace)
            async with aclosing(polled) as predictions:
                async for prediction in predictions:
                    status = require(prediction, "status", self.label)
                    if status in _STAGES and status != last:
                        stage, label = _STAGES[status]
                        elapsed = loop.time() - started
                        yield Progress(
                            stage, label.format(self.label), elapsed, job_id=prediction_id
                        )
                    elif status not in _STAGES and status not in _OVER:
                        raise ResponseError(
                            ErrorCode.UNKNOWN_STATUS, provider=self.label, status=status
                        )
                    last = status
        except (GeneratorExit, asyncio.CancelledError):
            path = f"/predictions/{quote(prediction_id)}/cancel"
            cancel_url = self._address(prediction, "cancel", path)
            if not context.stopping:
                await cancel_quietly(
                    lambda: self._post(context, cancel_url), f"{self.label} ({prediction_id})"
                )
            raise
        yield self._response(prediction, request, model)

    async def _create(
        self, model: str, inputs: dict[str, Any], context: ProviderContext
    ) -> dict[str, Any]:
        """The new prediction, perhaps already finished thanks to ``Prefer: wait``."""
        body: dict[str, Any] = {"input": inputs}
        name, _, version = model.partition(":")
        if version:
            url, body["version"] = f"{self.base}/predictions", version
        else:
            url = f"{self.base}/models/{name.strip('/')}/predictions"
        wait = max(1, min(PREFER_WAIT, int(context.settings.read_timeout) - 1))
        headers = {**self._headers(), "Prefer": f"wait={wait}"}
        answer = await context.http.json(
            "POST", url, provider=self.label, json=body, headers=headers
        )
        if not isinstance(answer, dict):
            raise ResponseError(ErrorCode.UNREADABLE_RESPONSE, provider=self.label)
        return answer

    async def _polled(
        self, first: dict[str, Any], get_url: str, context: ProviderContext, pace: PollPace
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The prediction as created, then as polled at ``pace``; the last one yielded is over
        (and its duration learned when it succeeded)."""

        async def fetch() -> Any:
            return await context.http.json(
                "GET", get_url, provider=self.label, headers=self._headers()
            )

        if first.get("status") == "succeeded":
            pace.finished()
        yield first
        if first.get("status") in _OVER:
            return
        async with aclosing(poll(fetch, pace)) as answers:
            async for answer in answers:
                if not isinstance(answer, dict):
                    raise ResponseError(ErrorCode.UNREADABLE_RESPONSE, provider=self.label)
                if answer.get("status") == "succeeded":
                    pace.finished()
                yield answer
                if answer.get("status") in _OVER:
                    return

    def _response(
        self, prediction: dict[str, Any], request: ImageRequest, model: str
    ) -> ImageResponse:
        status = prediction.get("status")
        if status == "failed":
            reason = upstream_error(prediction.get("error"), self._secret)
            if _SENSITIVE.search(str(prediction.get("error") or "")):
                raise Refused(ErrorCode.MODERATION_REASON, provider=self.label, reason=reason)
            raise ResponseError(ErrorCode.COULD_NOT_DRAW, provider=self.label, reason=reason)
        if status == "canceled":
            raise ResponseError(ErrorCode.CANCELLED, provider=self.label)
        output = prediction.get("output")
        items = output if isinstance(output, list) else [output] if output else []
        if not items:
            raise ResponseError(ErrorCode.INCOMPLETE, provider=self.label, key="output")
        images = [image_source(item, self.label) for item in items]
        return ImageResponse(
            images=images, alt=request.prompt, seed=self._seed(prediction, request), model=model
        )

    @staticmethod
    def _seed(prediction: dict[str, Any], request: ImageRequest) -> int | None:
        """The seed asked for, else the one the model printed in its logs, if any."""
        if request.seed is not None:
            return request.seed
        found = _SEED_IN_LOGS.search(str(prediction.get("logs") or ""))
        return int(found.group(1)) if found else None

    def _model_id(self, upstream: str) -> str:
        """The id users know an edit model by (``replicate/flux-kontext-pro``)."""
        alias = next((a for a, m in self._config.models(Kind.EDIT) if m == upstream), upstream)
        return f"{self.name}/{alias}"

    def _address(self, prediction: dict[str, Any], key: str, fallback_path: str) -> str:
        """``urls[key]`` of the prediction when it is on our API's host, else ours built."""
        urls = prediction.get("urls")
        url = urls.get(key) if isinstance(urls, dict) else None
        if isinstance(url, str) and same_origin(url, self.base):
            return url
        return f"{self.base}{fallback_path}"

    async def _post(self, context: ProviderContext, cancel_url: str) -> None:
        async with context.http.request(
            "POST", cancel_url, provider=self.label, headers=self._headers()
        ):
            pass

    @property
    def _secret(self) -> str | None:
        return self._key.get_secret_value() if self._key is not None else None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._secret}"} if self._secret else {}


_OVER = ("succeeded", "failed", "canceled")

_STAGES: dict[str, tuple[Stage, str]] = {
    "starting": (Stage.QUEUED, "{} is starting the model"),
    "processing": (Stage.GENERATING, "{} is drawing"),
}
