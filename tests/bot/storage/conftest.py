"""Every storage test marked with the ``database`` fixture runs twice: against a SQLite file and
against a real PostgreSQL (a new database of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where :meth:`Storage.open` finds the database: a file's path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "bot.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url
