"""What the storage hands out: a chat's preferences, a job's row, the figures /stats counts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DELIVERING = "delivering"  # finished images wait in DATA_DIR/outbox until Telegram takes them


UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DELIVERING)


class StorageError(Exception):
    """The database cannot be used; ``str(error)`` is one line for the operator."""


class StorageFull(StorageError):
    """A write under ``path`` failed for want of space (SQLITE_FULL, ENOSPC); writes work again
    by themselves once space is freed."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"no space left on the disk for {path}")


@dataclass(frozen=True)
class ChatPrefs:
    """A chat's choices; ``None`` means "use the operator's default"."""

    image_model: str | None = None
    vision_model: str | None = None
    aspect_ratio: str | None = None
    image_count: int | None = None
    language: str | None = None  # None: each user's own Telegram language
    negative_prompt: str | None = None
    spoiler: bool | None = None  # results hidden behind a spoiler
    caption_above: bool | None = None  # the caption above the picture
    edit_model: str | None = None


PREF_COLUMNS = (
    "image_model",
    "vision_model",
    "aspect_ratio",
    "image_count",
    "language",
    "negative_prompt",
    "spoiler",
    "caption_above",
    "edit_model",
)


@dataclass(frozen=True)
class JobFigure:
    """One job as /stats counts it."""

    chat_id: int
    model: str
    status: JobStatus
    created_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    chat_id: int
    user_id: int
    command_message_id: int
    status_message_id: int | None
    prompt: str
    options: dict[str, Any]
    model: str
    status: JobStatus
    upstream_job_id: str | None
    error: str | None
    thread_id: int | None = None
    attempts: int = 0
    status_settled: bool = False
    final_text: str | None = None  # what the status message must end as ("" = deleted)
    language: str | None = None  # the language the job's texts are in (None: from before them)
    result: dict[str, Any] | None = None  # what the job made (see bot.services.results)
    inline_message_id: str | None = None  # an inline-mode job's message (no status message then)


@dataclass(frozen=True)
class CreditAccount:
    """A user's credits as stored: free credits used in the current period, bought ones left."""

    user_id: int
    free_used: int
    bought: int


@dataclass(frozen=True)
class Settlement:
    """What settling a hold did: ``charged`` credits spent on ``provider``, which has spent
    ``provider_day_total`` credits on ``day`` (UTC, 'YYYY-MM-DD') with it."""

    user_id: int
    provider: str
    charged: int
    day: str
    provider_day_total: int


@dataclass(frozen=True)
class PaymentRecord:
    """One Telegram Stars payment and, once refunded, when."""

    charge_id: str
    user_id: int
    stars: int
    credits: int
    created_at: float
    refunded_at: float | None = None
