"""Each provider's health (failures in a row, last error, recent jobs), kept across restarts."""

from __future__ import annotations

import json
from typing import Any

from bot.storage.repository import Repository
from bot.storage.sql import Sql
from providers.core.errors import ErrorCode
from providers.routing.health import Health


class HealthRepository(Repository):
    """Each provider's health (failures in a row, last error, recent jobs), kept across restarts."""

    async def load_health(self) -> list[Health]:
        """Every provider's saved health record."""

        async def read(db: Sql) -> list[Any]:
            return await db.fetch(
                "SELECT provider, failures_in_a_row, last_success, last_failure, last_error,"
                " down_until, cool_down, recent FROM provider_health"
            )

        rows = await self._read(read)
        return [
            Health(
                provider=row[0],
                failures_in_a_row=row[1],
                last_success=row[2],
                last_failure=row[3],
                **_stored_error(row[4]),
                down_until=row[5],
                cool_down=row[6],
                recent=tuple((bool(ok), float(seconds)) for ok, seconds in json.loads(row[7])),
            )
            for row in rows
        ]

    async def save_health(self, health: Health) -> None:
        async def write(db: Sql) -> None:
            await db.execute(
                "INSERT INTO provider_health (provider, failures_in_a_row, last_success,"
                " last_failure, last_error, down_until, cool_down, recent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider) DO UPDATE SET"
                " failures_in_a_row = excluded.failures_in_a_row,"
                " last_success = excluded.last_success, last_failure = excluded.last_failure,"
                " last_error = excluded.last_error, down_until = excluded.down_until,"
                " cool_down = excluded.cool_down, recent = excluded.recent",
                health.provider,
                health.failures_in_a_row,
                health.last_success,
                health.last_failure,
                _error_record(health),
                health.down_until,
                health.cool_down,
                json.dumps(health.recent),
            )

        await self._write(write)

    # Jobs


def _error_record(health: Health) -> str | None:
    """provider_health.last_error: the English text, with the code and params as JSON when
    known (``{"text": …, "code": …, "params": {…}}``) so /providers can word it anew."""
    if health.last_error is None or health.last_error_code is None:
        return health.last_error
    record = {
        "text": health.last_error,
        "code": str(health.last_error_code),
        "params": dict(health.last_error_params),
    }
    return json.dumps(record, ensure_ascii=False)


def _stored_error(value: str | None) -> dict[str, Any]:
    """Health's last_error fields from the column: JSON with a code, or (a row saved before
    codes, or a code this version no longer knows) the text alone."""
    if not value or not value.startswith("{"):
        return {"last_error": value}
    try:
        record = json.loads(value)
        params = record.get("params") or {}
        return {
            "last_error": str(record["text"]),
            "last_error_code": ErrorCode(record["code"]),
            "last_error_params": {
                str(key): item
                for key, item in params.items()
                if isinstance(item, str | int | float) and not isinstance(item, bool)
            },
        }
    except (ValueError, TypeError, KeyError, AttributeError):
        return {"last_error": value}
