"""Which providers run: the env shortcuts (OPENAI_API_KEY, ...), PROVIDERS_FILE, and the seeds.

The operator configures live providers without code. A shortcut needs one variable (its key);
``providers.toml`` adds any number of entries of the five protocol types. A key always stays in
the environment: the file names the variable (``api_key_env``), and providers keep keys as
``SecretStr`` so that no repr, log line or error text shows them.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from pydantic import SecretStr, ValidationError

from providers.core.entry import (
    ConfigError,
    ProviderConfig,
)
from providers.core.provider import Kind, Provider
from providers.core.settings import ProviderSettings
from providers.routing.registry import Registry

log = logging.getLogger(__name__)

DEFAULT_PROVIDERS_FILE = Path("providers.toml")

SHORTCUT_KEYS = {
    "openai": "OPENAI_API_KEY",
    "pollinations": "POLLINATIONS_API_KEY",
    "fal": "FAL_KEY",
    "replicate": "REPLICATE_API_TOKEN",
}
"""The variable that enables each shortcut provider."""


@dataclass(frozen=True)
class Configured:
    """A provider entry with its key read from the environment (None: the entry needs none)."""

    config: ProviderConfig
    api_key: SecretStr | None


@dataclass(frozen=True)
class Configuration:
    """The keyed providers to run, and why each known but missing one is not offered."""

    providers: list[Configured]
    not_offered: dict[str, str]


ProviderFactory = Callable[[ProviderConfig, SecretStr | None], Provider]


def provider_types() -> dict[str, ProviderFactory]:
    """Each protocol type's provider class, imported on first use."""
    from providers.live.fal import Fal
    from providers.live.gradio.space import GradioSpace
    from providers.live.openai.images import OpenAICompatible
    from providers.live.pollinations import Pollinations
    from providers.live.replicate import Replicate

    return {
        "openai": OpenAICompatible,
        "pollinations": Pollinations,
        "fal": Fal,
        "replicate": Replicate,
        "gradio": GradioSpace,
    }


def model_list(value: str) -> list[str]:
    """The items of a comma-separated model list variable; ``none`` for no models."""
    if value.strip().lower() == "none":
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def shortcuts(settings: ProviderSettings) -> list[Configured]:
    """The providers enabled by one environment variable each, in a fixed order."""
    s = settings
    table: list[tuple[SecretStr | None, str, str, str, str, str, str]] = [
        # key, type, label, base URL, image models, vision models, edit models
        (s.openai_api_key, "openai", "OpenAI", s.openai_base_url,
         s.openai_image_models, s.openai_vision_models, s.openai_edit_models),
        (s.pollinations_api_key, "pollinations", "Pollinations", s.pollinations_api_url,
         s.pollinations_image_models, s.pollinations_vision_models, s.pollinations_edit_models),
        (s.fal_key, "fal", "fal", s.fal_queue_url, s.fal_image_models, "", s.fal_edit_models),
        (s.replicate_api_token, "replicate", "Replicate", s.replicate_api_url,
         s.replicate_image_models, "", s.replicate_edit_models),
    ]  # fmt: skip
    found: list[Configured] = []
    for key, type_, label, url, images, visions, edits in table:
        if key is None or not key.get_secret_value().strip():
            continue
        config = _shortcut(
            type_.upper(),
            name=type_,
            type=type_,
            label=label,
            base_url=url,
            image_models=model_list(images),
            vision_models=model_list(visions),
            edit_models=model_list(edits),
        )
        found.append(Configured(config, key))
    return found


def _shortcut(prefix: str, **fields: object) -> ProviderConfig:
    """A shortcut's entry; ConfigError naming the variables when their values do not fit."""
    try:
        config = ProviderConfig.model_validate(fields)
    except ValidationError as error:
        raise ConfigError(f"{prefix}_*: {_first_problem(error)}") from None
    problem = _model_problem(config)
    if problem:
        raise ConfigError(f"{prefix}_*_MODELS: {problem}")
    return config


def read_providers_file(path: Path) -> list[ProviderConfig]:
    """The entries of a providers.toml; ConfigError naming the file, entry and problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: is not valid TOML ({error})") from None
    unknown = sorted(set(data) - {"provider"})
    if unknown:
        raise ConfigError(f"{path}: unknown table '{unknown[0]}' (expected [[provider]] entries)")
    entries = data.get("provider", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'provider' must be written as [[provider]] entries")
    configs: list[ProviderConfig] = []
    for position, raw in enumerate(entries, start=1):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"entry '{name}'" if isinstance(name, str) and name else f"entry {position}"
        try:
            config = ProviderConfig.model_validate(raw)
        except ValidationError as error:
            raise ConfigError(f"{path}: {where}: {_first_problem(error)}") from None
        problem = _model_problem(config)
        if problem:
            raise ConfigError(f"{path}: {where}: {problem}")
        if any(c.name == config.name for c in configs):
            raise ConfigError(f"{path}: {where}: the name '{config.name}' is used twice")
        configs.append(config)
    return configs


def _path(location: tuple[int | str, ...]) -> list[str]:
    """A value's place as the operator wrote it: without pydantic's names for the shapes it
    tried (``dict[str,...]``, ``EditModel``, ``str``)."""
    return [
        str(part)
        for part in location
        if not ("[" in str(part) or str(part)[:1].isupper() or part in ("str", "list"))
    ]


_PATTERN_HELP = {
    "name": "must be 1-32 lower-case letters, digits, '-', '_' or '.'",
    "base_url": "must be an http:// or https:// URL",
    "api_key_env": "must be the name of an environment variable, not the key itself",
}


def _first_problem(error: ValidationError) -> str:
    """The problem to tell: the first one, or, where a value may take several shapes (an edit
    model is a string or an inline table), the deepest one, which names the key at fault."""
    problems = error.errors()
    first = max(problems, key=lambda problem: len(_path(problem["loc"])))
    if len(_path(first["loc"])) <= len(_path(problems[0]["loc"])):
        first = problems[0]
    field = ".".join(_path(first["loc"])) or "entry"
    if first["type"] == "literal_error" and field == "type":
        types = "openai, pollinations, fal, replicate or gradio"
        return f"unknown type '{first.get('input')}' (use {types})"
    if first["type"] == "missing":
        return f"'{field}' is required"
    if first["type"] == "extra_forbidden":
        return f"unknown key '{field}'"
    if first["type"] == "string_pattern_mismatch" and field in _PATTERN_HELP:
        return f"{field} {_PATTERN_HELP[field]}"
    return f"{field}: {first['msg']}"


def _model_problem(config: ProviderConfig) -> str | None:
    """Why the entry's models cannot be offered (a clash of aliases, none at all), or None."""
    if config.type == "gradio" and not config.base_url:
        return "a gradio entry needs base_url"
    if config.image_api is not None and config.type != "openai":
        return "image_api is for openai entries only"
    pairs = config.models(Kind.IMAGE) + config.models(Kind.VISION) + config.models(Kind.EDIT)
    if not pairs:
        return "it lists no image_models, vision_models or edit_models"
    seen: dict[str, str] = {}
    for alias, upstream in pairs:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.:-]*", alias) or not upstream:
            return f"'{alias}={upstream}' is not a usable model (alias=upstream name)"
        if alias in seen:
            return f"two models share the alias '{alias}': '{seen[alias]}' and '{upstream}'"
        seen[alias] = upstream
    return None


def _environment(settings: ProviderSettings) -> Mapping[str, str | None]:
    """The variables keys are read from: ``.env`` (when settings read it), then the process's."""
    env_file = settings.model_config.get("env_file")
    values: dict[str, str | None] = {}
    if isinstance(env_file, str) and Path(env_file).is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ)
    return values


def configured(
    settings: ProviderSettings, environ: Mapping[str, str | None] | None = None
) -> Configuration:
    """Every keyed provider to run: the shortcuts, then the file's entries (an entry named like a
    shortcut takes its place). Entries whose key variable is unset are left out, with a log line.
    """
    environ = _environment(settings) if environ is None else environ
    chosen = {c.config.name: c for c in shortcuts(settings)}
    not_offered = {
        name: f"{variable} is not set"
        for name, variable in SHORTCUT_KEYS.items()
        if name not in chosen
    }
    path = settings.providers_file
    if path is None and DEFAULT_PROVIDERS_FILE.is_file():
        path = DEFAULT_PROVIDERS_FILE
    if path is not None:
        for config in read_providers_file(path):
            key = _key_for(config, environ, settings)
            if config.api_key_env and key is None:
                log.info(
                    "provider %s is not offered: %s is not set", config.name, config.api_key_env
                )
                chosen.pop(config.name, None)
                not_offered[config.name] = f"{config.api_key_env} is not set"
                continue
            chosen[config.name] = Configured(config, key)
            not_offered.pop(config.name, None)
    return Configuration(list(chosen.values()), not_offered)


def _key_for(
    config: ProviderConfig, environ: Mapping[str, str | None], settings: ProviderSettings
) -> SecretStr | None:
    if config.api_key_env:
        value = (environ.get(config.api_key_env) or "").strip()
        return SecretStr(value) if value else None
    if config.type == "gradio" and ".hf.space" in config.url and settings.hf_token is not None:
        return settings.hf_token
    return None


def build_providers(configs: Iterable[Configured]) -> list[Provider]:
    """Provider instances for the configured entries."""
    types = provider_types()
    providers: list[Provider] = []
    for item in configs:
        factory = types.get(item.config.type)
        if factory is None:
            raise ConfigError(
                f"provider {item.config.name}: type {item.config.type} is not built in"
            )
        provider = factory(item.config, item.api_key)
        if item.config.max_concurrency is not None:
            provider.max_concurrency = item.config.max_concurrency
        if item.config.cost is not None:
            provider.cost = item.config.cost
        if item.config.max_daily_cost is not None:
            provider.max_daily_cost = item.config.max_daily_cost
        providers.append(provider)
    return providers


def seed_providers() -> list[Provider]:
    """The four seed providers (their upstreams may be gone; they stay offered)."""
    from providers.seeds.arta import ARTA
    from providers.seeds.dynaspark import Dynaspark
    from providers.seeds.prodia import Prodia
    from providers.seeds.sd35 import StabilityAI_SD35Large

    return [ARTA(), Prodia(), StabilityAI_SD35Large(), Dynaspark()]


def build_registry(
    settings: ProviderSettings, environ: Mapping[str, str | None] | None = None
) -> Registry:
    """Every model the operator's configuration offers: keyed providers first, then the seeds
    (an entry named like a seed replaces it).

    Raises ConfigError (one line) for a broken providers file or a clash of provider names.
    """
    configuration = configured(settings, environ)
    keyed = build_providers(configuration.providers)
    names = {provider.name for provider in keyed}
    providers = [*keyed, *(seed for seed in seed_providers() if seed.name not in names)]
    for name, limit in slot_limits(settings.provider_slots).items():
        found = [p for p in providers if p.name == name]
        if not found:
            raise ConfigError(f"PROVIDER_SLOTS: no provider is named '{name}'")
        found[0].max_concurrency = limit
    return Registry(providers, not_offered=configuration.not_offered)


def slot_limits(value: str) -> dict[str, int]:
    """``name=N`` pairs of PROVIDER_SLOTS; ConfigError for anything else."""
    limits: dict[str, int] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, _, number = item.partition("=")
        if not number.strip().isdigit() or not 1 <= int(number) <= 1000:
            raise ConfigError(f"PROVIDER_SLOTS: '{item}' is not name=N with N from 1 to 1000")
        limits[name.strip().lower()] = int(number)
    return limits
