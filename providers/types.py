"""What providers consume and yield: small typed values with no transport details."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypedDict


class Message(TypedDict):
    """One chat message, as the seeds' ``messages`` argument."""

    role: str
    content: str


Messages = Sequence[Message]


class Stage(StrEnum):
    """Where a job stands upstream."""

    SUBMITTED = "submitted"
    QUEUED = "queued"
    GENERATING = "generating"


@dataclass(frozen=True)
class Progress:
    """A status change: stage, short label, seconds since submission, the upstream's job id."""

    stage: Stage
    label: str
    elapsed: float | None = None
    job_id: str | None = None


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
    """A vision model's answer."""

    text: str
    model: str = ""


@dataclass(frozen=True)
class Media:
    """An image handed to a vision model."""

    data: bytes
    filename: str = "image.jpg"
    content_type: str | None = None


Event = Progress | ImagePreview | ImageResponse | TextResponse
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


@dataclass(frozen=True)
class ImageOptions:
    """What one image model accepts; the bot validates user flags against it."""

    max_images: int = 1
    steps: tuple[int, int] | None = None
    cfg: tuple[float, float] | None = None
    aspect_ratios: tuple[str, ...] = ("1:1",)
    negative_prompt: bool = True
    seed: bool = True
    extra: dict[str, str] = field(default_factory=dict)


def format_prompt(messages: Messages, prompt: str | None = None) -> str:
    """The text to send upstream: ``prompt`` if given, else the last user message."""
    if prompt:
        return prompt
    for message in reversed(messages):
        if message["role"] == "user" and message["content"].strip():
            return message["content"].strip()
    return ""
