"""The bot's configuration: environment variables and ``.env``, validated at start-up."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode

from providers import Kind, ProviderSettings, Registry, UnknownModel
from providers.core.entry import ConfigError
from providers.routing.config import build_registry
from providers.routing.fallback import parse_fallbacks

DB_NAME = "bot.sqlite3"  # the SQLite file in DATA_DIR

TOKEN_PATTERN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,64}$")

TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is {problem}. Create a bot with @BotFather in Telegram "
    "(send /newbot), copy the token it gives you, and put it in a .env file in the working "
    "directory as TELEGRAM_BOT_TOKEN=<token> (see .env.example; `python -m bot setup` writes it), "
    "or export it in the environment."
)

IdSet = Annotated[frozenset[int], NoDecode]

MAX_MODEL_COST = 1_000_000
"""The most credits MODEL_COSTS may ask for one picture."""
MAX_PACK_STARS = 10_000
MAX_PACK_CREDITS = 10_000_000


def parse_model_costs(value: str) -> list[tuple[str, int]]:
    """MODEL_COSTS as ``(pattern, credits)`` pairs in the order given (patterns lower-cased).

    Raises ValueError, one line saying what to write, for a malformed item."""
    costs: list[tuple[str, int]] = []
    for item in _items(value):
        pattern, sep, credits = (part.strip() for part in item.partition("="))
        if not sep or not pattern or re.search(r"[\s=]", pattern):
            raise ValueError(f"'{item}' is not pattern=credits; write them like openai/*=4,fal/*=2")
        costs.append((pattern.lower(), _whole(item, credits, "credits", 0, MAX_MODEL_COST)))
    return costs


def parse_stars_packs(value: str) -> list[tuple[int, int]]:
    """STARS_PACKS as ``(stars, credits)`` pairs in the order given.

    Raises ValueError, one line saying what to write, for a malformed item or two packs at
    one price."""
    packs: list[tuple[int, int]] = []
    for item in _items(value):
        stars, sep, credits = (part.strip() for part in item.partition("="))
        if not sep:
            raise ValueError(f"'{item}' is not stars=credits; write them like 50=100,250=600")
        pack = (
            _whole(item, stars, "stars", 1, MAX_PACK_STARS),
            _whole(item, credits, "credits", 1, MAX_PACK_CREDITS),
        )
        if any(known == pack[0] for known, _ in packs):
            raise ValueError(f"two packs cost {pack[0]} stars; give each pack its own price")
        packs.append(pack)
    return packs


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _whole(item: str, text: str, what: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise ValueError(f"'{item}': the {what} must be a whole number from {low} to {high}")
    return int(text)


class BotSettings(ProviderSettings):
    """Everything an operator can set; names match the table in README.md and .env.example."""

    _registry: Registry | None = PrivateAttr(default=None)

    def registry(self) -> Registry:
        """The providers and models these settings configure, built on first use and then kept:
        the check at start and the running bot share one registry. Raises ConfigError."""
        if self._registry is None:
            self._registry = build_registry(self)
        return self._registry

    telegram_bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"

    default_image_model: str = "arta/flux"
    default_vision_model: str = "dynaspark/gemini-1.5-flash"
    default_edit_model: str = ""
    """Unset: the first edit model of a configured provider."""
    check_defaults: bool = True
    """At start, check the default models with one small job each (in the background); one
    that does not answer is replaced for this run by the first model of its kind that does."""

    allowed_user_ids: IdSet = frozenset()
    allowed_chat_ids: IdSet = frozenset()
    admin_user_ids: IdSet = frozenset()
    group_model_admins_only: bool = True
    default_language: Literal["en", "ru"] = "en"
    """The language for users whose Telegram client sends no language (others get theirs)."""

    max_jobs_per_user: int = Field(default=2, ge=1)
    max_concurrent_jobs: int = Field(default=128, ge=1)
    status_edit_interval: float = Field(default=1.0, ge=0)
    job_deadline: float = Field(default=120.0, gt=0)
    """Seconds within which a user hears how a job ended, whatever happens upstream; the
    fallback models share what is left of it."""
    delivery_deadline: float = Field(default=900.0, gt=0)
    shutdown_grace: float = Field(default=20.0, ge=0)
    keep_originals_days: float = Field(default=7.0, ge=0)
    """How long the exact files behind the 📎 button are kept (0: not kept, no button)."""
    inline_cache_chat_id: int | None = None
    """Where inline-mode pictures are uploaded to get the file_id an inline message needs (a
    channel or group the bot can post to); unset: the user's private chat with the bot."""

    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)

    database_url: SecretStr | None = None
    """Unset: SQLite in DATA_DIR. ``postgresql://user:pass@host:port/db``: every piece of state
    in PostgreSQL, which several replicas of the bot may share."""
    redis_url: SecretStr | None = None
    """``redis://host:port/N``: Telegram's flood budget shared by every replica (unset: this
    process keeps it alone)."""
    replica_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    """How this replica names itself in the database and the log (default: host name + pid)."""

    free_credits: int | None = Field(default=None, ge=0, le=MAX_PACK_CREDITS)
    """Credits each user gets per CREDITS_PERIOD (unset: no credit accounting at all; 0: only
    bought credits)."""
    credits_period: Literal["day", "month"] = "day"
    """When free credits renew: each UTC day or each UTC month."""
    model_costs: str = ""
    """``pattern=credits`` per picture, first match wins, ``*`` matches within an id
    (``openai/*=4,fal/*=2``); a model no pattern matches costs its provider entry's ``cost``."""
    stars_packs: str = ""
    """``stars=credits`` packs /buy offers (``50=100,250=600``; unset: no sales)."""

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    """text: one readable line per event; json: one JSON object a line (for log shippers)."""
    log_prompts: bool = False
    """Whether prompts and questions appear in INFO logs (at DEBUG they always may)."""

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        if value.upper() not in levels:
            raise ValueError(f"must be one of {', '.join(levels)}")
        return value.upper()

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("inline_cache_chat_id", "free_credits", mode="before")
    @classmethod
    def _unset_if_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("credits_period", mode="before")
    @classmethod
    def _credits_period(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("model_costs")
    @classmethod
    def _model_costs(cls, value: str) -> str:
        parse_model_costs(value)
        return value.strip()

    @field_validator("stars_packs")
    @classmethod
    def _stars_packs(cls, value: str) -> str:
        parse_stars_packs(value)
        return value.strip()

    @model_validator(mode="after")
    def _packs_need_credits(self) -> BotSettings:
        if self.stars_packs and self.free_credits is None:
            raise ValueError(
                "STARS_PACKS needs FREE_CREDITS: set FREE_CREDITS (0 for no free credits) so "
                "that bought credits are counted"
            )
        return self

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_PATTERN.fullmatch(value.get_secret_value().strip()):
            raise ValueError("malformed")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("must be a comma-separated list of numeric ids") from None
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> BotSettings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET is required with WEBHOOK_URL so that only Telegram can post updates"
            )
        return self

    @field_validator("database_url", "redis_url", mode="before")
    @classmethod
    def _unset_url(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("must be a postgresql://user:password@host:port/database URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be a redis://host:port/N URL")
        return value

    @field_validator("replica_id")
    @classmethod
    def _replica_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,64}", value.strip()):
            raise ValueError("must be 1-64 letters, digits or _ . : @ -")
        return value.strip()

    def database(self) -> Path | str:
        """Where the state lives: DATABASE_URL, or the SQLite file in DATA_DIR."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.data_dir / DB_NAME

    @property
    def shared(self) -> bool:
        """Whether replicas may share this state (PostgreSQL): jobs are leased, not owned."""
        return self.database_url is not None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # The characters Telegram allows in X-Telegram-Bot-Api-Secret-Token.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of letters, digits, _ or -")
        return value


class SettingsError(Exception):
    """Settings cannot be used; ``str(error)`` is one helpful line per problem."""


def load_settings(**overrides: object) -> BotSettings:
    """The settings from the environment and ``.env``; raises SettingsError with advice."""
    try:
        settings = BotSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "settings"
            if field == "telegram_bot_token":
                problem = "missing" if error["type"] == "missing" else "malformed"
                lines.append(TOKEN_HELP.format(problem=problem))
            else:
                lines.append(f"{field.upper()}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None
    try:
        registry = settings.registry()
    except ConfigError as error:
        raise SettingsError(str(error)) from None
    for name, kind in (
        ("default_image_model", Kind.IMAGE),
        ("default_vision_model", Kind.VISION),
        ("default_edit_model", Kind.EDIT),
    ):
        if not getattr(settings, name):
            continue
        try:
            registry.resolve(getattr(settings, name), kind)
        except UnknownModel as error:
            if registry.why_not_offered(getattr(settings, name)) is None:
                raise SettingsError(f"{name.upper()}: {error}") from None
    for name, kind in (
        ("fallback_image_models", Kind.IMAGE),
        ("fallback_vision_models", Kind.VISION),
        ("fallback_edit_models", Kind.EDIT),
    ):
        try:
            parse_fallbacks(getattr(settings, name), registry, kind)
        except UnknownModel as error:
            raise SettingsError(f"{name.upper()}: {error} Use model ids, auto or none.") from None
    return settings
