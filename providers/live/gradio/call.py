"""Gradio's call API, shared by every Gradio-backed provider (SD 3.5 and the generic ``gradio``).

One job is one POST of the inputs to ``{app}/gradio_api/call/{api_name}`` (answered with an
``event_id``) and one streamed GET of that event's Server-Sent Events: ``heartbeat``,
``generating`` (previews), then ``complete`` or ``error``. The GET is never repeated: a finished
event's stream only carries heartbeats, so every read has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from providers.core.errors import (
    ErrorCode,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
)
from providers.core.http import require
from providers.core.provider import ProviderContext
from providers.core.sse import SseEvent, iter_sse
from providers.core.types import EventStream, ImagePreview, ImageResponse, Progress, Stage

_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_RETRY_IN = re.compile(r"try again in (\d+):(\d{1,2}):(\d{1,2})", re.IGNORECASE)
DRAIN_SECONDS = 1.0
"""How long to wait for the end of a stream after ``complete``, so its connection is reused."""


@dataclass(frozen=True)
class GradioCall:
    """One endpoint of one Gradio app, and who is named when it fails.

    ``root`` is the app's URL (relative file paths in results resolve against it),
    ``endpoint`` the full ``.../gradio_api/call/<api_name>`` URL, ``label`` the provider's
    name in error texts; ``headers`` go with every request (a Bearer token), ``proxy`` too.
    """

    root: str
    endpoint: str
    label: str
    headers: Mapping[str, str] = field(default_factory=dict)
    proxy: str | None = None

    async def run(
        self, context: ProviderContext, data: Sequence[Any], *, prompt: str, model: str
    ) -> EventStream:
        """Progress(QUEUED) once the app accepted the job, then for each preview it streams a
        Progress(GENERATING) (the first time) and an ImagePreview, then one ImageResponse with
        the picture's URL and the seed the app reports (``alt`` is ``prompt``).

        Raises RateLimited when the app is out of GPU quota, ResponseError when it reports any
        other failure or sends something unreadable, ProviderTimeout when its stream stays
        silent for ``read_timeout`` seconds, ProviderUnavailable when the stream ends early,
        and the HTTP layer's errors otherwise.
        """
        extra: dict[str, Any] = {"proxy": self.proxy} if self.proxy is not None else {}
        loop = asyncio.get_running_loop()
        started = loop.time()
        submitted = await context.http.json(
            "POST",
            self.endpoint,
            provider=self.label,
            json={"data": list(data)},
            headers=dict(self.headers),
            **extra,
        )
        event_id = require(submitted, "event_id", self.label)
        if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
            raise ResponseError(ErrorCode.UNREADABLE_JOB_ID, provider=self.label)
        yield Progress(
            Stage.QUEUED, "Waiting in the Space's queue", loop.time() - started, job_id=event_id
        )

        generating = False
        async with (
            context.http.request(
                "GET",
                f"{self.endpoint}/{event_id}",
                provider=self.label,
                headers={**self.headers, "Accept": "text/event-stream"},
                **extra,
            ) as response,
            contextlib.aclosing(self._events(response, context.settings.read_timeout)) as events,
        ):
            async for event in events:
                if event.event == "generating":
                    if not generating:
                        generating = True
                        yield Progress(
                            Stage.GENERATING, "Generating", loop.time() - started, job_id=event_id
                        )
                    preview = preview_url(event.data, self.root)
                    if preview is not None:
                        yield ImagePreview(images=[preview], alt=prompt)
                elif event.event == "complete":
                    image, seed = parse_result(event.data, self.root, self.label)
                    yield ImageResponse(images=[image], alt=prompt, seed=seed, model=model)
                    await drain(response)
                    return
                elif event.event == "error":
                    raise parse_error(event.data, self.label)
        raise ProviderUnavailable(ErrorCode.STREAM_ENDED, provider=self.label)

    async def _events(
        self, response: aiohttp.ClientResponse, read_timeout: float
    ) -> AsyncGenerator[SseEvent, None]:
        """The stream's events, with a silent or broken stream turned into a ProviderError."""
        try:
            async with contextlib.aclosing(iter_sse(response, read_timeout)) as events:
                async for event in events:
                    yield event
        except TimeoutError as exc:
            raise ProviderTimeout(
                ErrorCode.SILENT, provider=self.label, seconds=read_timeout
            ) from exc
        except aiohttp.ClientError as exc:
            raise ProviderUnavailable(ErrorCode.CONNECTION_CUT, provider=self.label) from exc


def parse_result(data: str, root: str, label: str) -> tuple[str, int | None]:
    """The first image's URL among a ``complete`` event's outputs, and the seed: the one
    whole number among the outputs (None when there is none, or more than one).

    Raises ResponseError when the data is not JSON or holds no image.
    """
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ResponseError(ErrorCode.UNREADABLE_RESULT, provider=label) from exc
    outputs = value if isinstance(value, list) else [value]
    url = next((u for u in (file_url(item, root) for item in outputs) if u is not None), None)
    if url is None:
        raise ResponseError(ErrorCode.RESULT_WITHOUT_IMAGE, provider=label)
    return url, only_seed(outputs)


def preview_url(data: str, root: str) -> str | None:
    """A ``generating`` event's first picture; previews are optional: unreadable ones are None."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    outputs = value if isinstance(value, list) else [value]
    return next((u for u in (file_url(item, root) for item in outputs) if u is not None), None)


def only_seed(outputs: Sequence[Any]) -> int | None:
    """The seed among the outputs: the value if exactly one output is a number and it is whole."""
    numbers = [v for v in outputs if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 1:
        return None
    number = numbers[0]
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


def file_url(value: Any, root: str) -> str | None:
    """The URL of one output that holds a picture, or None when it holds none.

    An output is a FileData dict (its ``url``, else ``{root}/gradio_api/file=<path>``), a URL
    or absolute path string, or a gallery (a list whose first item is a FileData or a
    ``{"image": FileData, "caption": ...}`` entry).
    """
    if isinstance(value, list):
        return file_url(value[0], root) if value else None
    if isinstance(value, str):
        if value.startswith(("http://", "https://")):
            return value
        return f"{root}/gradio_api/file={value}" if value.startswith("/") else None
    if not isinstance(value, dict):
        return None
    if "image" in value and "url" not in value and "path" not in value:
        return file_url(value["image"], root)
    url, path = value.get("url"), value.get("path")
    if isinstance(url, str) and url:
        return url
    if isinstance(path, str) and path:
        return f"{root}/gradio_api/file={path}"
    return None


def parse_error(data: str, label: str) -> ResponseError | RateLimited:
    """The error an ``error`` event stands for, with the app's message when it sent one:
    RateLimited for a GPU quota message (with ZeroGPU's "try again in H:MM:SS" as
    ``retry_after``), ResponseError otherwise."""
    try:
        value = json.loads(data)
    except ValueError:
        return ResponseError(ErrorCode.UNREADABLE_ERROR, provider=label)
    title = ""
    if isinstance(value, dict):
        title = str(value.get("title") or "")
        value = value.get("error")
    if not isinstance(value, str) or not value.strip():
        return ResponseError(ErrorCode.SPACE_FAILED, provider=label)
    message = " ".join(value.split())[:300]
    if "quota" in f"{title} {message}".lower():
        return RateLimited(
            ErrorCode.GPU_QUOTA,
            provider=label,
            retry_after=retry_after(message),
            reason=message,
        )
    return ResponseError(ErrorCode.FAILED_WITH_REASON, provider=label, reason=message)


def retry_after(message: str) -> float | None:
    """Seconds from ZeroGPU's "Try again in H:MM:SS", when the message has it."""
    match = _RETRY_IN.search(message)
    if match is None:
        return None
    hours, minutes, seconds = (int(part) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


async def drain(response: aiohttp.ClientResponse) -> None:
    """Reads what is left of a finished stream, briefly, so its connection can be reused."""
    with contextlib.suppress(TimeoutError, aiohttp.ClientError):
        async with asyncio.timeout(DRAIN_SECONDS):
            while await response.content.readany():
                pass
