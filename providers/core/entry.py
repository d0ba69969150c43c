"""One provider entry as the operator writes it (a ``[[provider]]`` of providers.toml, or an env
shortcut read into the same shape): what every provider type is built from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from providers.core.provider import Kind

ProviderType = Literal["openai", "pollinations", "fal", "replicate", "gradio"]

DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "pollinations": "https://gen.pollinations.ai",
    "fal": "https://queue.fal.run",
    "replicate": "https://api.replicate.com/v1",
}
"""Where each protocol type points when an entry names no ``base_url`` (gradio must name one)."""

ModelList = dict[str, str] | list[str]


class EditModel(BaseModel):
    """One edit model as an inline table: ``{ upstream = "...", image_field = "image_urls" }``.

    ``image_field`` is the input field the pictures go in (fal: default ``image_url``;
    Replicate: default ``input_image``); ``image_list`` says whether it takes a list (unset:
    the model's published schema decides, else a plural field name means a list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upstream: str = Field(min_length=1)
    image_field: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    image_list: bool | None = None


EditModelList = dict[str, str | EditModel] | list[str]


class ConfigError(Exception):
    """The provider configuration cannot be used; ``str(error)`` is one line saying why."""


class ProviderConfig(BaseModel):
    """One ``[[provider]]`` entry of providers.toml (and the shape the shortcuts are read into)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,31}$")
    type: ProviderType
    label: str | None = Field(default=None, min_length=1, max_length=40)
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    image_models: ModelList = Field(default_factory=dict)
    vision_models: ModelList = Field(default_factory=dict)
    edit_models: EditModelList = Field(default_factory=dict)
    """Models that change the pictures a request brings (gradio: alias = endpoint path)."""
    image_api: Literal["images", "chat"] | None = None
    """openai: ``chat`` draws and edits through ``chat/completions`` (OpenRouter, Gemini);
    unset or ``images`` uses ``images/generations`` and ``images/edits``."""
    sizes: list[str] | None = None
    """openai: the sizes (``WxH``) the model takes; the one closest to the aspect ratio is sent."""
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    """How many jobs the provider runs at once (default: 4 for gradio, 128 for the others)."""
    response_format: Literal["b64_json", "url"] | None = None
    """openai: sent with image requests only when set (gpt-image-1 rejects the parameter)."""
    cost: int | None = Field(default=None, ge=0, le=1_000_000)
    """Credits a picture of any of the entry's models costs (unset: 0; MODEL_COSTS wins)."""
    max_daily_cost: int | None = Field(default=None, ge=1)
    """Credits all users together may spend on the entry per UTC day; past it the provider is
    skipped like a down one until the next UTC midnight (unset: no limit)."""

    @property
    def url(self) -> str:
        """The base URL without a trailing slash: the entry's own, or its type's default."""
        return (self.base_url or DEFAULT_BASE_URLS.get(self.type, "")).rstrip("/")

    @property
    def title(self) -> str:
        """How users see the provider named."""
        return self.label or self.name

    def models(self, kind: Kind) -> list[tuple[str, str]]:
        """``(alias, upstream name)`` pairs of ``kind``, in the order given."""
        if kind == Kind.EDIT:
            return [(alias, model.upstream) for alias, model in self.edit_entries()]
        listed = self.image_models if kind == Kind.IMAGE else self.vision_models
        if isinstance(listed, dict):
            return [(alias.strip().lower(), upstream) for alias, upstream in listed.items()]
        return [parse_model_item(item) for item in listed]

    def edit_entries(self) -> list[tuple[str, EditModel]]:
        """``(alias, EditModel)`` of every edit model, in the order given."""
        if isinstance(self.edit_models, list):
            return [
                (alias, EditModel(upstream=upstream))
                for alias, upstream in map(parse_model_item, self.edit_models)
            ]
        return [
            (
                alias.strip().lower(),
                model if isinstance(model, EditModel) else EditModel(upstream=model),
            )
            for alias, model in self.edit_models.items()
        ]

    def edit_model(self, upstream: str) -> EditModel:
        """The edit model with that upstream name (its field settings), or a bare one."""
        for _, model in self.edit_entries():
            if model.upstream == upstream:
                return model
        return EditModel(upstream=upstream)


def parse_model_item(item: str) -> tuple[str, str]:
    """``alias=upstream`` or a bare upstream name, whose alias is its last path part, lower-cased.

    >>> parse_model_item("black-forest-labs/flux-schnell")
    ('flux-schnell', 'black-forest-labs/flux-schnell')
    """
    alias, sep, upstream = item.partition("=")
    if not sep:
        upstream = item.strip()
        alias = upstream.rsplit("/", 1)[-1]
    return alias.strip().lower(), upstream.strip()
