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
    sizes: list[str] | None = None
    """openai: the sizes (``WxH``) the model takes; the one closest to the aspect ratio is sent."""
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    """How many jobs the provider runs at once (default: 4 for gradio, 128 for the others)."""
    response_format: Literal["b64_json", "url"] | None = None
    """openai: sent with image requests only when set (gpt-image-1 rejects the parameter)."""

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
        listed = self.image_models if kind == Kind.IMAGE else self.vision_models
        if isinstance(listed, dict):
            return [(alias.strip().lower(), upstream) for alias, upstream in listed.items()]
        return [parse_model_item(item) for item in listed]


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
