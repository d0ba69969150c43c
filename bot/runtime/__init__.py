"""The long-lived pieces the handlers use, created once when the bot starts."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any, cast

from telegram.ext import Application, CallbackContext, ExtBot

from bot.runtime.asking import Asking
from bot.runtime.credits import Credits
from bot.runtime.queue import JobRunner
from bot.settings import BotSettings
from bot.storage.database import Storage
from bot.storage.originals import DatabaseOriginals, FileOriginals, Originals
from bot.storage.outbox import DatabaseOutbox, FileOutbox, Outbox
from providers import Kind, ModelEntry, ProviderContext, Registry, UnknownModel
from providers.core.polling import Pacer, load_paces, save_paces
from providers.routing.check import Probe, first_answering, probe, probed_models
from providers.routing.fallback import candidates, parse_fallbacks
from providers.routing.health import HealthBook

log = logging.getLogger(__name__)

SERVICES_KEY = "services"

LEASE_SECONDS = 10.0
"""How long a replica's claim on a job holds unless renewed (every BEAT_SECONDS while it runs):
a replica that dies leaves its jobs to the others this long after its last beat."""
BEAT_SECONDS = 3.0
"""How often a replica says it is alive, renews its leases and looks for jobs to take over."""

PACES_SAVED_EVERY = 10.0
"""Seconds between two saves of what the pacers learned (and once more at a clean stop)."""


@dataclass
class Runtime:
    """Settings, database, model registry, provider health, connection pool, the job runner
    the outbox of pictures waiting for Telegram, the original files behind 📎, and every
    user's credits."""

    settings: BotSettings
    storage: Storage
    registry: Registry
    health: HealthBook
    defaults: dict[Kind, ModelEntry]
    """The model of each kind for chats that never chose one."""
    providers: ProviderContext
    jobs: JobRunner
    outbox: Outbox
    originals: Originals
    credits: Credits
    """What jobs cost and who has what (off unless FREE_CREDITS is set)."""
    asking: Asking = field(default_factory=Asking)
    """Prompts being put up now (a reply to one waits until it is noted)."""
    replica: str = ""
    """This replica's name (REPLICA_ID) in the database's leases and in the log."""
    paces_saved_at: float = 0.0
    """When :meth:`keep_paces` last wrote (the event loop's clock)."""
    fitting: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(os.cpu_count() or 2)
    )
    """Users' pictures downloaded and fitted at once (one per core: each holds a photo and
    its pixels, so a burst of edits waits here instead of filling the memory)."""

    @classmethod
    async def open(cls, settings: BotSettings) -> Runtime:
        storage = await Storage.open(settings.database())
        registry = settings.registry()
        health = await HealthBook.open(storage)
        await load_paces(storage, pacers(registry))
        credits = Credits(settings, storage, registry, health)
        await credits.restore_budgets()
        outbox: Outbox = FileOutbox(settings.data_dir / "outbox")
        originals: Originals = FileOriginals(
            settings.data_dir / "originals", settings.keep_originals_days
        )
        if settings.shared:  # any replica delivers any parcel and answers any 📎
            outbox = DatabaseOutbox(storage)
            originals = DatabaseOriginals(storage, settings.keep_originals_days)
        return cls(
            settings=settings,
            storage=storage,
            registry=registry,
            health=health,
            defaults={
                kind: default_model(settings, registry, health, kind)
                for kind in Kind
                if registry.entries_of(kind)
            },
            providers=ProviderContext.from_settings(settings),
            jobs=JobRunner(settings.max_concurrent_jobs, settings.max_jobs_per_user),
            outbox=outbox,
            originals=originals,
            credits=credits,
            replica=settings.replica_id,
        )

    def candidates(self, chosen: ModelEntry) -> list[ModelEntry]:
        """``chosen`` and the models a job moves on to when its provider fails."""
        setting: str = getattr(self.settings, f"fallback_{chosen.kind.value}_models")
        return candidates(
            self.registry, chosen, parse_fallbacks(setting, self.registry, chosen.kind)
        )

    async def keep_paces(self, *, now: bool = False) -> None:
        """Saves what the providers' pacers learned (how long their jobs take), at most every
        :data:`PACES_SAVED_EVERY` seconds unless ``now``; called as jobs end and at a stop, so
        that the next start polls as well as this run did."""
        clock = asyncio.get_running_loop().time()
        if not now and clock - self.paces_saved_at < PACES_SAVED_EVERY:
            return
        self.paces_saved_at = clock
        await save_paces(self.storage, pacers(self.registry))

    async def close(self) -> None:
        await self.providers.close()
        try:
            await self.keep_paces(now=True)
        finally:
            await self.storage.close()


def pacers(registry: Registry) -> dict[str, Pacer]:
    """Each configured provider's pacer, by the provider's name."""
    return {provider.name: provider.pacer for provider in registry.providers}


def default_model(
    settings: BotSettings, registry: Registry, health: HealthBook, kind: Kind
) -> ModelEntry:
    """The operator's DEFAULT_*_MODEL, or, when its provider is not configured, the first model
    of that kind of a provider that is not down; either case that needs the operator's attention
    is logged in one line (an unset DEFAULT_EDIT_MODEL picks the first edit model quietly)."""
    variable = f"default_{kind.value}_model"
    name: str = getattr(settings, variable)
    try:
        entry = registry.resolve(name, kind) if name else None
    except UnknownModel:
        entry = None
    usable = [
        found
        for provider in registry.providers
        if not health.is_down(provider.name)
        and (found := registry.default_of(provider, kind)) is not None
    ]
    if entry is None:
        stand_in = usable[0] if usable else registry.entries_of(kind)[0]
        if not name:
            return stand_in
        log.warning(
            "%s %s is not offered (%s); using %s instead",
            variable.upper(),
            name,
            registry.why_not_offered(name),
            stand_in.id,
        )
        return stand_in
    if health.is_down(entry.provider.name):
        instead = next((e.id for e in usable if e.provider is not entry.provider), "nothing")
        log.warning(
            "%s %s: %s is down; jobs move on to %s until it is back",
            variable.upper(),
            entry.id,
            entry.provider.label,
            instead,
        )
    return entry


KEY_ADVICE = (
    "Set a key for a provider that works today (HF_TOKEN, POLLINATIONS_API_KEY, OPENAI_API_KEY, "
    "FAL_KEY or REPLICATE_API_TOKEN) and DEFAULT_{kind}_MODEL: see README 'Pick your providers'."
)


async def check_defaults(runtime: Runtime) -> None:
    """Checks each default model with one small job, the way ``python -m providers check``
    does (run in the background at start). A default that does not answer is replaced for this
    run by the first other model of its kind that does, in one WARNING line naming both and how
    to set a key; when none answers, one WARNING says so. A chat's own choice is untouched."""
    await asyncio.gather(*(_check_default(runtime, kind) for kind in list(runtime.defaults)))


async def _check_default(runtime: Runtime, kind: Kind) -> None:
    context, registry = runtime.providers, runtime.registry
    loop = asyncio.get_running_loop()
    chosen = runtime.defaults[kind]
    checked = await probe(chosen, context, loop.time() + runtime.settings.job_deadline)
    if checked.ok:
        log.info("DEFAULT_%s_MODEL %s answers", kind.value.upper(), chosen.id)
        return
    others = [
        entry
        for entry in probed_models(registry)
        if entry.kind == kind and entry.provider is not chosen.provider
    ]
    found, probes = await first_answering(
        others, context, loop.time() + runtime.settings.job_deadline
    )
    if runtime.defaults[kind] is not chosen:
        return  # changed meanwhile: the newer choice stands
    variable = f"DEFAULT_{kind.value.upper()}_MODEL"
    advice = KEY_ADVICE.format(kind=kind.value.upper())
    if found is None:
        log.warning(
            "%s %s does not answer (%s), and no other %s model does either%s; %s jobs will "
            "fail until a provider answers. %s",
            variable,
            chosen.id,
            checked.problem,
            kind.value,
            _listed(probes),
            "/imagine" if kind == Kind.IMAGE else "/ask",
            advice,
        )
        return
    runtime.defaults[kind] = found.entry
    log.warning(
        "%s %s does not answer (%s); using %s instead for this run. %s",
        variable,
        chosen.id,
        checked.problem,
        found.entry.id,
        advice,
    )


def _listed(probes: list[Probe]) -> str:
    return f" ({'; '.join(f'{p.entry.id}: {p.problem}' for p in probes)})" if probes else ""


AnyApp = Application[Any, Any, Any, Any, Any, Any]


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """What every handler gets as ``context``: python-telegram-bot's, plus the bot's typed
    :class:`Runtime` (``context.runtime``). The Application is built with it
    (``ContextTypes(context=BotContext)``, see bot.app)."""

    @property
    def runtime(self) -> Runtime:
        """The Runtime stored on the application at start-up."""
        return cast(Runtime, self.bot_data[SERVICES_KEY])


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
