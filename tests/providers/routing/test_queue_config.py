"""The providers.toml entries the README shows for fal and Replicate, read by the real loader
and run against the fakes."""

from __future__ import annotations

from pathlib import Path

from providers import ImageRequest, ImageResponse, Kind, ProviderSettings, generate_images
from providers.routing.config import build_registry
from tests.fakes.fal import FakeFal
from tests.fakes.replicate import FakeReplicate
from tests.helpers import provider_context

EXAMPLE = """
[[provider]]
name = "fal"
type = "fal"
api_key_env = "FAL_KEY"                # the key stays in the environment

[provider.image_models]                # alias = fal app id; model ids become fal/<alias>
flux-schnell = "fal-ai/flux/schnell"
flux-dev = "fal-ai/flux/dev"
sd35 = "fal-ai/stable-diffusion-v35-large"

[[provider]]
name = "replicate"
type = "replicate"
label = "Replicate"
api_key_env = "REPLICATE_API_TOKEN"
image_models = [                       # owner/name (or owner/name:version); alias = last part
    "black-forest-labs/flux-schnell",
    "black-forest-labs/flux-dev",
    "black-forest-labs/flux-1.1-pro",
]
"""

ENVIRON = {"FAL_KEY": "fal-file-key", "REPLICATE_API_TOKEN": "r8_file_token"}


def settings(tmp_path: Path, text: str) -> ProviderSettings:
    path = tmp_path / "providers.toml"
    path.write_text(text)
    return ProviderSettings(_env_file=None, data_dir=tmp_path, providers_file=path)  # type: ignore[call-arg]


def test_the_readme_example_offers_these_models(tmp_path: Path) -> None:
    registry = build_registry(settings(tmp_path, EXAMPLE), environ=ENVIRON)
    ids = [e.id for e in registry.entries if e.id.startswith(("fal/", "replicate/"))]
    assert ids == [
        "fal/flux-schnell",
        "fal/flux-dev",
        "fal/sd35",
        "replicate/flux-schnell",
        "replicate/flux-dev",
        "replicate/flux-1.1-pro",
    ]
    sd35 = registry.resolve("fal/sd35", Kind.IMAGE)
    assert sd35.options is not None and sd35.options.negative_prompt
    assert registry.resolve("replicate/flux-dev").provider.label == "Replicate"
    assert registry.resolve("fal/flux-dev").provider.label == "fal"


def test_an_entry_whose_key_is_unset_is_not_offered(tmp_path: Path) -> None:
    registry = build_registry(settings(tmp_path, EXAMPLE), environ={"FAL_KEY": "k"})
    assert not [e for e in registry.entries if e.id.startswith("replicate/")]
    assert registry.resolve("fal/flux-schnell")


async def test_the_example_draws_once_pointed_at_the_fakes(tmp_path: Path) -> None:
    async with (
        FakeFal(key=ENVIRON["FAL_KEY"]) as fal,
        FakeReplicate(token=ENVIRON["REPLICATE_API_TOKEN"]) as replicate,
    ):
        text = EXAMPLE.replace('type = "fal"', f'type = "fal"\nbase_url = "{fal.url}"')
        text = text.replace(
            'type = "replicate"', f'type = "replicate"\nbase_url = "{replicate.api}/"'
        )
        registry = build_registry(settings(tmp_path, text), environ=ENVIRON)
        async with provider_context(tmp_path) as context:
            for model in ("fal/sd35", "replicate/flux-1.1-pro"):
                entry = registry.resolve(model)
                request = ImageRequest(prompt="a fox", negative_prompt=None, aspect_ratio="1:1")
                events = [e async for e in generate_images(entry, request, context)]
                assert isinstance(events[-1], ImageResponse), model
    assert fal.submissions[0][0] == "fal-ai/stable-diffusion-v35-large"  # type: ignore[attr-defined]
    assert replicate.creations[0][0] == "/v1/models/black-forest-labs/flux-1.1-pro/predictions"  # type: ignore[attr-defined]
