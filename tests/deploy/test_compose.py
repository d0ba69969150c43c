"""deploy/compose.yaml, nginx.conf and .env.example agree with the code: the replicas are given
only real settings, wired to the stack's PostgreSQL and Redis; they share one DATA_DIR volume;
their healthcheck asks the bot's own /healthz and fails on a 503; nginx forwards to their
WEBHOOK_PORT and never sends a POST that reached a replica to another one; no secret is written
in the files. No Docker needed."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import SecretStr

from bot.settings import BotSettings
from bot.telegram.webhook import WebhookServer
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtok"
REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:[:?-][^}]*)?\}")
"""A ${VAR}, ${VAR:-default} or ${VAR:?message} in compose.yaml."""


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def bot_services() -> dict[str, dict[str, Any]]:
    """The services that run the bot's image (the replicas and the one-shot set-webhook)."""
    image = services()["bot"]["image"]
    return {name: s for name, s in services().items() if s.get("image") == image}


def service_with_image(prefix: str) -> str:
    (name,) = [n for n, s in services().items() if str(s.get("image", "")).startswith(prefix)]
    return name


def setting_names() -> set[str]:
    names = set()
    for name, field in BotSettings.model_fields.items():
        alias = field.validation_alias or field.alias
        names.add(alias.upper() if isinstance(alias, str) else name.upper())
    return names


def secret_settings() -> set[str]:
    return {
        name.upper()
        for name, field in BotSettings.model_fields.items()
        if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ()))
    }


def interpolated(value: object) -> str:
    """``value`` as compose would pass it, with ``__VAR__`` for each ${VAR}."""
    return REFERENCE.sub(lambda m: f"__{m.group(1)}__", str(value))


def env_example() -> dict[str, str]:
    text = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    return {m[1]: m[2].strip() for m in re.finditer(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", text, re.M)}


def nginx() -> str:
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    return re.sub(r"#[^\n]*", "", text)


def directives(name: str) -> list[list[str]]:
    """The arguments of every ``name ...;`` in nginx.conf."""
    return [m[1].split() for m in re.finditer(rf"(?:^|[;{{}}\s]){name}\s+([^;{{]*);", nginx())]


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, f"unexpected duration {duration!r}"
    return int(match[1]) * (60 if match[2] == "m" else 1)


def test_the_replicas_get_only_real_settings() -> None:
    known = setting_names()
    for name, service in bot_services().items():
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name} passes {unknown}, which bot/settings.py does not read"


def test_the_replicas_settings_are_accepted_by_the_bot() -> None:
    environment = services()["bot"]["environment"]
    given = {key.lower(): interpolated(value) for key, value in environment.items()}
    # model_validate: these values alone, not the environment or a .env of this machine.
    settings = BotSettings.model_validate({"telegram_bot_token": TOKEN, **given})
    assert settings.shared and settings.webhook_url and settings.redis_url is not None


def test_the_replicas_use_this_stacks_postgres_and_redis() -> None:
    environment = services()["bot"]["environment"]
    database = urlsplit(interpolated(environment["DATABASE_URL"]))
    postgres = services()[service_with_image("postgres:")]["environment"]
    assert database.scheme == "postgresql"
    assert database.hostname == service_with_image("postgres:")
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == interpolated(postgres["POSTGRES_PASSWORD"])
    assert database.path == "/" + postgres["POSTGRES_DB"]
    assert urlsplit(interpolated(environment["REDIS_URL"])).hostname == service_with_image("redis:")
    depends = services()["bot"]["depends_on"]
    for needed in (service_with_image("postgres:"), service_with_image("redis:")):
        assert depends[needed] == {"condition": "service_healthy"}
        assert services()[needed]["healthcheck"]["test"]


def test_redis_keeps_nothing_on_disk() -> None:
    command = services()[service_with_image("redis:")]["command"]
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"


def test_every_replica_shares_one_named_data_volume() -> None:
    bot = services()["bot"]
    assert bot["deploy"]["replicas"] >= 2
    data_dir = bot["environment"]["DATA_DIR"]
    mounts = [entry.split(":") for entry in bot["volumes"]]
    (source,) = [parts[0] for parts in mounts if parts[1] == data_dir]
    # A named volume (not an anonymous one, which each replica would get for itself).
    assert source in compose()["volumes"]


def test_a_stop_leaves_the_grace_period_to_the_bot() -> None:
    grace = BotSettings.model_fields["shutdown_grace"].default
    assert seconds(services()["bot"]["stop_grace_period"]) > grace


async def healthcheck_exit(port: int) -> int:
    """The exit status of the replicas' healthcheck, run here with WEBHOOK_PORT=port."""
    test = services()["bot"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *test[2:], env={"WEBHOOK_PORT": str(port)}
    )
    return await asyncio.wait_for(process.wait(), timeout=20)


async def test_the_healthcheck_asks_the_replicas_healthz() -> None:
    health = {"database": True, "redis": True}

    async def checks() -> tuple[bool, dict[str, bool]]:
        return health["database"], dict(health)

    async def unused(*args: object) -> Any:
        raise AssertionError("no update is posted")

    port = free_port()
    server = WebhookServer(
        listen="127.0.0.1",
        port=port,
        path="telegram/updates",
        secret="s",
        take=unused,
        handle=unused,
        finished=unused,
        checks=checks,
    )
    assert await healthcheck_exit(port) != 0  # nothing listening yet
    await server.start()
    try:
        assert await healthcheck_exit(port) == 0
        health["database"] = False  # /healthz answers 503
        assert await healthcheck_exit(port) != 0
    finally:
        await server.stop()


def test_nginx_forwards_to_every_replica_on_its_webhook_port() -> None:
    port = services()["bot"]["environment"]["WEBHOOK_PORT"]
    (upstream,) = re.findall(r"upstream\s+(\S+)\s*\{([^}]*)\}", nginx())
    name, block = upstream
    servers = [args for args in directives("server") if args[0] in block]
    assert [args[0] for args in servers] == [f"bot:{port}"]
    assert "resolve" in servers[0]  # replicas that come and go are found again
    assert ["http://" + name] in directives("proxy_pass")


def test_nginx_never_resends_a_post_that_reached_a_replica() -> None:
    (next_upstream,) = directives("proxy_next_upstream")
    assert set(next_upstream) == {"error", "timeout"}  # no non_idempotent, no http_503
    # No kept-alive connection that a dead replica could fail after the update was written.
    assert directives("proxy_http_version") == [["1.0"]]
    assert ["Connection", "close"] in directives("proxy_set_header")


def test_the_proxy_publishes_the_port_nginx_listens_on_and_waits_for_healthy_replicas() -> None:
    proxy = services()["proxy"]
    (listen,) = directives("listen")
    (published,) = proxy["ports"]
    assert published.rsplit(":", 1)[1] == listen[0] and "ssl" in listen
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"]["bot"] == {"condition": "service_healthy"}


def test_no_secret_is_written_in_the_files() -> None:
    secrets = secret_settings() | {"POSTGRES_PASSWORD"}
    assert {"TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET", "DATABASE_URL"} <= secrets
    for name, service in services().items():
        for key, value in (service.get("environment") or {}).items():
            given = interpolated(value)
            if key not in secrets or given.startswith("__"):
                continue
            # A URL: any password in it comes from a ${VAR}.
            password = urlsplit(given).password
            assert "://" in given, f"{name}: {key} is written out"
            assert password is None or password.startswith("__"), f"{name}: {key}'s password"
    documented = env_example()
    for key in secrets & set(documented):
        value = documented[key]
        # Empty, or a URL whose password is a <placeholder>.
        assert not value or (urlsplit(value).password or "<").startswith("<"), key


def test_the_env_example_documents_what_compose_reads() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    read = set(REFERENCE.findall(text))
    documented = set(env_example())
    assert read <= documented, f"not in deploy/.env.example: {read - documented}"
    unknown = documented - read - setting_names()
    assert not unknown, f"deploy/.env.example names {unknown}: neither compose nor the bot reads"


@pytest.mark.parametrize(
    "line",
    [
        "FROM python:3.11-slim",
        "RUN pip install --no-cache-dir . \\",
        "USER bot",
        "STOPSIGNAL SIGTERM",
        'CMD ["python", "-m", "bot"]',
    ],
)
def test_the_image(line: str) -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert line in dockerfile.splitlines()


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {
        ".venv",
        ".git",
        "data",
        ".env",
        "**/.env",
        ".pytest_cache",
        "**/__pycache__",
    } <= ignored
