"""/stats figures from the jobs table: outcomes, providers, median durations, chats, queue."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.i18n import N_, Translator
from bot.runtime import Runtime
from bot.storage.records import JobFigure, JobStatus

WEEK_SECONDS = 7 * 24 * 3600
OUTCOMES: dict[JobStatus, str] = {
    JobStatus.DONE: N_("done"),
    JobStatus.FAILED: N_("failed"),
    JobStatus.CANCELLED: N_("cancelled"),
    JobStatus.QUEUED: N_("queued"),
    JobStatus.RUNNING: N_("running"),
    JobStatus.DELIVERING: N_("delivering"),
}


@dataclass(frozen=True)
class Period:
    """The figures of the jobs made in one period."""

    total: int
    outcomes: dict[JobStatus, int]
    providers: dict[str, int]
    median_wait: float | None  # seconds from the command to the start, of started jobs
    median_run: float | None  # seconds from the start to the end, of finished jobs
    chats: int


@dataclass(frozen=True)
class Stats:
    today: Period
    week: Period
    queued: int
    running: int


def provider_of(model: str) -> str:
    """The provider part of a model id (``arta/flux`` -> ``arta``)."""
    return model.split("/", 1)[0]


def period(jobs: Sequence[JobFigure]) -> Period:
    """The figures of these jobs."""
    waits = [j.started_at - j.created_at for j in jobs if j.started_at is not None]
    runs = [
        j.finished_at - j.started_at
        for j in jobs
        if j.started_at is not None and j.finished_at is not None
    ]
    return Period(
        total=len(jobs),
        outcomes=dict(Counter(j.status for j in jobs)),
        providers=dict(Counter(provider_of(j.model) for j in jobs)),
        median_wait=statistics.median(waits) if waits else None,
        median_run=statistics.median(runs) if runs else None,
        chats=len({j.chat_id for j in jobs}),
    )


async def collect(runtime: Runtime, now: float) -> Stats:
    """Today's (since midnight UTC) and the last seven days' figures, and the queue now."""
    midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    jobs = await runtime.storage.job_figures(now - WEEK_SECONDS)
    today = [j for j in jobs if j.created_at >= midnight.timestamp()]
    storage = runtime.storage
    return Stats(
        today=period(today),
        week=period(jobs),
        queued=await storage.count_jobs(JobStatus.QUEUED),
        running=await storage.count_jobs(JobStatus.RUNNING, JobStatus.DELIVERING),
    )


def seconds(tr: Translator, value: float | None) -> str:
    return "—" if value is None else tr.gettext("{seconds} s").format(seconds=tr.decimal(value))


def period_text(tr: Translator, title: str, figures: Period) -> str:
    """One period's block of /stats."""
    outcomes = ", ".join(
        f"{tr.gettext(OUTCOMES[status])} {count}"
        for status, count in sorted(figures.outcomes.items(), key=lambda item: -item[1])
    )
    providers = ", ".join(
        f"{name} {count}" for name, count in sorted(figures.providers.items(), key=lambda i: -i[1])
    )
    lines = [
        title,
        tr.gettext("Jobs: {total}").format(total=figures.total)
        + (f" ({outcomes})" if outcomes else ""),
        tr.gettext("By provider: {providers}").format(providers=providers or "—"),
        tr.gettext("Median wait {wait}, median run {run}").format(
            wait=seconds(tr, figures.median_wait), run=seconds(tr, figures.median_run)
        ),
        tr.gettext("Active chats: {chats}").format(chats=figures.chats),
    ]
    return "\n".join(lines)


def text(tr: Translator, stats: Stats) -> str:
    """The whole /stats answer."""
    return "\n\n".join(
        [
            period_text(tr, tr.gettext("📊 Today (UTC)"), stats.today),
            period_text(tr, tr.gettext("📅 Last 7 days"), stats.week),
            tr.gettext("⏳ Now: {queued} queued, {running} running").format(
                queued=stats.queued, running=stats.running
            ),
        ]
    )
