"""Upstream endpoints, credentials and limits, read from the environment (and ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ARTA_KEY = "AIzaSyB3-71wG0fIt0shj0ee4fvx1shcjJHGrrQ"


class ProviderSettings(BaseSettings):
    """Every upstream URL can be overridden, which is also how tests point at loopback fakes."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Path("./data")
    proxy: str | None = None
    hf_token: SecretStr | None = None

    arta_auth_url: str = (
        f"https://www.googleapis.com/identitytoolkit/v3/relyingparty/signupNewUser?key={ARTA_KEY}"
    )
    arta_token_refresh_url: str = f"https://securetoken.googleapis.com/v1/token?key={ARTA_KEY}"
    arta_api_url: str = "https://img-gen-prod.ai-arta.com/api/v1"
    prodia_api_url: str = "https://api.prodia.com"
    prodia_image_url: str = "https://images.prodia.xyz"
    sd35_space_url: str = "https://stabilityai-stable-diffusion-3-5-large.hf.space"
    dynaspark_api_url: str = "https://dynaspark.onrender.com"

    # Live providers (see providers/config.py): a key enables each shortcut.
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_image_models: str = "gpt-image-1"
    openai_vision_models: str = "gpt-4o-mini"
    openai_edit_models: str = "gpt-image-2"
    pollinations_api_key: SecretStr | None = None
    pollinations_api_url: str = "https://gen.pollinations.ai"
    pollinations_image_models: str = "flux,turbo"
    pollinations_vision_models: str = "openai"
    pollinations_edit_models: str = "kontext"
    fal_key: SecretStr | None = None
    fal_queue_url: str = "https://queue.fal.run"
    fal_image_models: str = "flux-schnell=fal-ai/flux/schnell,flux-dev=fal-ai/flux/dev"
    fal_edit_models: str = "kontext=fal-ai/flux-pro/kontext"
    replicate_api_token: SecretStr | None = None
    replicate_api_url: str = "https://api.replicate.com/v1"
    replicate_image_models: str = "black-forest-labs/flux-schnell"
    replicate_edit_models: str = "black-forest-labs/flux-kontext-pro"
    fallback_image_models: str = "auto"
    """Models tried in order when the chosen image model's provider fails: ids, auto or none."""
    fallback_vision_models: str = "auto"
    fallback_edit_models: str = "auto"
    provider_slots: str = ""
    """Jobs each provider runs at once, overriding the defaults: ``sd35=2,openai=100``."""
    providers_file: Path | None = None
    """Extra providers in TOML; unset means ``providers.toml`` in the working directory, if any."""
    allow_private_urls: bool = False
    """Let result URLs point at loopback, private and link-local addresses."""

    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    job_timeout: float = Field(default=300.0, gt=0, description="Overall deadline for one job")
    poll_interval: float = Field(
        default=2.0, ge=0, description="The longest pause in seconds between two status polls"
    )
    """The bot's polls are paced by how long the provider's jobs take (providers.polling.Pacer)
    and never further apart than this; the seed interfaces poll exactly this far apart."""
