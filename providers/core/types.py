"""What providers consume and yield: small typed values with no transport details."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict

from providers.core.errors import Adjustment, ErrorCode, InvalidOption, ProviderError


class Message(TypedDict):
    """One chat message, as the seeds' ``messages`` argument."""

    role: str
    content: str


Messages = Sequence[Message]


class Stage(StrEnum):
    """Where a job stands upstream (SIGNING_IN: getting credentials, before anything is sent)."""

    SIGNING_IN = "signing_in"
    SUBMITTED = "submitted"
    QUEUED = "queued"
    GENERATING = "generating"


@dataclass(frozen=True)
class Progress:
    """A status change: stage, short label, seconds since submission, the upstream's job id.

    ``resume`` is what :meth:`Provider.resume` needs to follow the job after a restart, when
    the job id alone is not enough; ``queue_position`` (from 1) where the upstream tells it.
    """

    stage: Stage
    label: str
    elapsed: float | None = None
    job_id: str | None = None
    resume: str | None = None
    queue_position: int | None = None


@dataclass(frozen=True)
class ImagePreview:
    """An intermediate picture; ``images`` are URLs or raw bytes."""

    images: Sequence[str | bytes]
    alt: str = ""


@dataclass(frozen=True)
class ImageResponse:
    """The final pictures, with the prompt as alt text and the seed and model actually used."""

    images: Sequence[str | bytes]
    alt: str
    seed: int | None = None
    model: str = ""


@dataclass(frozen=True)
class TextResponse:
    """A vision model's whole answer (after any TextDelta events, it repeats their sum)."""

    text: str
    model: str = ""


@dataclass(frozen=True)
class TextDelta:
    """The next piece of an answer that is being streamed; a TextResponse ends the stream."""

    text: str


@dataclass(frozen=True)
class Switched:
    """The job moved on to another model because the previous one's provider failed or is down.

    ``reason`` is the previous provider's failure (its code and params; ``reason_sentence``
    in providers.routing.fallback words it "ARTA cannot be reached right now");
    ``adjustments`` says how the request was adapted to the new model (``str()`` of each:
    "16:9 instead of 21:9").
    """

    from_model: str
    to_model: str
    reason: ProviderError
    adjustments: tuple[Adjustment, ...] = ()


@dataclass(frozen=True)
class Media:
    """A picture handed to a model: a vision model's image, or an edit model's input."""

    data: bytes
    filename: str = "image.jpg"
    content_type: str | None = None


Event = Progress | ImagePreview | ImageResponse | TextDelta | TextResponse | Switched
EventStream = AsyncGenerator[Event, None]


@dataclass(frozen=True)
class ImageRequest:
    """A provider-neutral image request; ``None`` means "the model's default"."""

    prompt: str
    negative_prompt: str | None = None
    n: int = 1
    seed: int | None = None
    aspect_ratio: str | None = None
    steps: int | None = None
    cfg: float | None = None
    images: tuple[Media, ...] = ()
    """The pictures an edit model changes or combines, in the user's order (empty: a picture
    drawn from the prompt alone). Normalised by the caller to the model's ``PictureLimits``."""
    strength: float | None = None
    """How far an edit may move from the input, 0-1 (None: the model's default)."""

    @property
    def is_edit(self) -> bool:
        """Whether the request changes pictures it brings (rather than drawing from text)."""
        return bool(self.images)


@dataclass(frozen=True)
class PictureLimits:
    """What an edit model takes as input pictures: the caller converts and downscales to fit."""

    types: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp")
    """MIME types the upstream reads; anything else is converted to the first."""
    max_side: int = 2048
    """The longest side in pixels; larger pictures are downscaled."""
    max_bytes: int = 10 * 1024 * 1024
    """The largest encoded picture; larger ones are downscaled (or recompressed) to fit."""
    alpha: bool = True
    """Whether transparency is kept; False flattens it onto white."""


@dataclass(frozen=True)
class ImageOptions:
    """What one image model accepts; the bot validates user flags against it."""

    max_images: int = 1
    steps: tuple[int, int] | None = None
    cfg: tuple[float, float] | None = None
    aspect_ratios: tuple[str, ...] = ("1:1",)
    negative_prompt: bool = True
    seed: bool = True
    min_pictures: int = 0
    """Input pictures a request must bring: 1 for edit models, 0 for models that draw."""
    max_pictures: int = 0
    """Input pictures a request may bring (0: the model draws from text only)."""
    strength: bool = False
    """Whether the model takes ``--strength`` (a ``strength`` / ``prompt_strength`` field)."""
    pictures: PictureLimits = PictureLimits()

    def check(self, model_id: str, request: ImageRequest) -> None:
        """Raises InvalidOption with a sentence a user can act on when a value does not fit."""
        if not request.prompt.strip():
            raise InvalidOption(ErrorCode.EMPTY_PROMPT)
        self.check_pictures(model_id, request)
        if not 1 <= request.n <= self.max_images:
            if self.max_images == 1:
                raise InvalidOption(ErrorCode.ONE_IMAGE, model=model_id)
            raise InvalidOption(ErrorCode.IMAGE_COUNT, model=model_id, max=self.max_images)
        if request.aspect_ratio is not None and request.aspect_ratio not in self.aspect_ratios:
            allowed = ", ".join(self.aspect_ratios)
            raise InvalidOption(ErrorCode.RATIOS, model=model_id, allowed=allowed)
        if request.steps is not None:
            if self.steps is None:
                raise InvalidOption(ErrorCode.NO_STEPS, model=model_id)
            low, high = self.steps
            if not low <= request.steps <= high:
                raise InvalidOption(ErrorCode.STEPS_RANGE, model=model_id, low=low, high=high)
        if request.cfg is not None:
            if self.cfg is None:
                raise InvalidOption(ErrorCode.NO_GUIDANCE, model=model_id)
            low_cfg, high_cfg = self.cfg
            if not low_cfg <= request.cfg <= high_cfg:
                raise InvalidOption(
                    ErrorCode.GUIDANCE_RANGE, model=model_id, low=low_cfg, high=high_cfg
                )
        if request.negative_prompt and not self.negative_prompt:
            raise InvalidOption(ErrorCode.NO_NEGATIVE_PROMPT, model=model_id)
        if request.seed is not None and not self.seed:
            raise InvalidOption(ErrorCode.NO_SEED, model=model_id)

    def check_pictures(self, model_id: str, request: ImageRequest) -> None:
        """Raises InvalidOption when the request's pictures or strength do not fit the model."""
        count = len(request.images)
        if count < self.min_pictures:
            raise InvalidOption(ErrorCode.NEEDS_PICTURE, model=model_id)
        if count > self.max_pictures:
            if self.max_pictures == 0:
                raise InvalidOption(ErrorCode.TAKES_NO_PICTURES, model=model_id)
            if self.max_pictures == 1:
                raise InvalidOption(ErrorCode.ONE_PICTURE, model=model_id)
            raise InvalidOption(ErrorCode.PICTURE_COUNT, model=model_id, max=self.max_pictures)
        if request.strength is not None:
            if not self.strength:
                raise InvalidOption(ErrorCode.NO_STRENGTH, model=model_id)
            if not 0 <= request.strength <= 1:
                raise InvalidOption(ErrorCode.STRENGTH_RANGE, model=model_id)


def format_prompt(messages: Messages, prompt: str | None = None) -> str:
    """The text to send upstream: ``prompt`` if given, else the last user message."""
    if prompt:
        return prompt
    for message in reversed(messages):
        if message["role"] == "user" and message["content"].strip():
            return message["content"].strip()
    return ""
