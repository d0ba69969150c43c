"""The long-lived pieces the handlers use, created once when the bot starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from telegram.ext import Application, ContextTypes

from providers import ProviderContext, Registry, default_registry

from .jobs import JobRunner
from .outbox import Outbox
from .settings import BotSettings
from .storage import DB_NAME, Storage

SERVICES_KEY = "services"


@dataclass
class Runtime:
    """Settings, database, model registry, provider connection pool, the job runner and the
    outbox of pictures waiting for Telegram."""

    settings: BotSettings
    storage: Storage
    registry: Registry
    providers: ProviderContext
    jobs: JobRunner
    outbox: Outbox

    @classmethod
    async def open(cls, settings: BotSettings) -> Runtime:
        storage = await Storage.open(settings.data_dir / DB_NAME)
        return cls(
            settings=settings,
            storage=storage,
            registry=default_registry(),
            providers=ProviderContext.from_settings(settings),
            jobs=JobRunner(settings.max_concurrent_jobs, settings.max_jobs_per_user),
            outbox=Outbox(settings.data_dir / "outbox"),
        )

    async def close(self) -> None:
        await self.providers.close()
        await self.storage.close()


AnyApp = Application[Any, Any, Any, Any, Any, Any]


def runtime_of(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    """The Runtime stored on the application at start-up."""
    return cast(Runtime, context.bot_data[SERVICES_KEY])


def attach(app: AnyApp, runtime: Runtime) -> None:
    app.bot_data[SERVICES_KEY] = runtime


def attached(app: AnyApp) -> Runtime | None:
    """The Runtime of a started application (None before start-up)."""
    runtime = app.bot_data.get(SERVICES_KEY)
    return runtime if isinstance(runtime, Runtime) else None


def detach(app: AnyApp) -> Runtime | None:
    runtime = attached(app)
    app.bot_data.pop(SERVICES_KEY, None)
    return runtime
