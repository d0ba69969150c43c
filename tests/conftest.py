"""Real servers shared by the whole run: one PostgreSQL cluster and one Redis, each started
on 127.0.0.1 the first time a test asks for it and stopped at the end."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator

import pytest

from tests import services

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[services.PostgresServer]:
    with services.postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: services.PostgresServer) -> str:
    """A new, empty database of its own for one test."""
    name = f"test_{next(_databases)}"
    subprocess.run(
        [
            str(postgres_server.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres_server.port),
            "-U",
            "postgres",
            name,
        ],
        check=True,
    )
    return postgres_server.url(name)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[services.RedisServer]:
    with services.redis() as server:
        yield server
