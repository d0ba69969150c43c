"""How long each provider's jobs took, per model and stage (the pacers' figures), kept across
restarts so that polling after a start is paced as well as before it."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence

from bot.storage.repository import Repository
from bot.storage.sql import Row, Sql
from providers.core.polling import StageFigures


class PaceRepository(Repository):
    """The pacers' learned stage durations (:class:`providers.core.polling.StageFigures`)."""

    async def load_paces(self) -> list[StageFigures]:
        """Every kept figure; a row that cannot be read is skipped."""

        async def read(db: Sql) -> list[Row]:
            return await db.fetch("SELECT provider, model, stage, seconds FROM stage_durations")

        rows = await self._read(read)
        figures = []
        for provider, model, stage, stored in rows:
            try:
                seconds = tuple(float(value) for value in json.loads(stored))
            except (ValueError, TypeError):
                continue
            if all(math.isfinite(value) and value >= 0 for value in seconds):
                figures.append(StageFigures(str(provider), str(model), str(stage), seconds))
        return figures

    async def save_paces(self, figures: Sequence[StageFigures]) -> None:
        """Keeps ``figures``, each replacing what was kept for its provider, model and stage."""
        now = time.time()

        async def write(db: Sql) -> None:
            await db.executemany(
                "INSERT INTO stage_durations (provider, model, stage, seconds, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider, model, stage) DO UPDATE SET"
                " seconds = excluded.seconds, updated_at = excluded.updated_at",
                [(f.provider, f.model, f.stage, _seconds(f), now) for f in figures],
            )

        await self._write(write)


def _seconds(figure: StageFigures) -> str:
    """stage_durations.seconds: a JSON list of seconds, to the millisecond."""
    return json.dumps([round(value, 3) for value in figure.seconds])
