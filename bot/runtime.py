"""The long-lived pieces the handlers use, created once when the bot starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from telegram.ext import Application, ContextTypes

from providers import Kind, ModelEntry, ProviderContext, Registry
from providers.config import build_registry
from providers.fallback import candidates, parse_fallbacks
from providers.health import HealthBook

from .jobs import JobRunner
from .settings import BotSettings
from .storage import Storage

SERVICES_KEY = "services"


@dataclass
class Runtime:
    """Settings, database, model registry, provider health, connection pool and the job runner."""

    settings: BotSettings
    storage: Storage
    registry: Registry
    health: HealthBook
    providers: ProviderContext
    jobs: JobRunner

    @classmethod
    async def open(cls, settings: BotSettings) -> Runtime:
        storage = await Storage.open(settings.data_dir / "bot.sqlite3")
        return cls(
            settings=settings,
            storage=storage,
            registry=build_registry(settings),
            health=await HealthBook.open(storage),
            providers=ProviderContext.from_settings(settings),
            jobs=JobRunner(settings.max_concurrent_jobs, settings.max_jobs_per_user),
        )

    def candidates(self, chosen: ModelEntry) -> list[ModelEntry]:
        """``chosen`` and the models a job moves on to when its provider fails."""
        setting = (
            self.settings.fallback_image_models
            if chosen.kind == Kind.IMAGE
            else self.settings.fallback_vision_models
        )
        return candidates(
            self.registry, chosen, parse_fallbacks(setting, self.registry, chosen.kind)
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
