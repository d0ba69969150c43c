"""The openai and pollinations types as an operator configures them: env shortcuts and
providers.toml entries become registry models with the options each model takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from providers import ImageRequest, Kind, ProviderSettings
from providers.core.entry import ConfigError
from providers.core.image_sizes import STANDARD_RATIOS
from providers.live.openai.images import OpenAICompatible
from providers.live.pollinations import Pollinations
from providers.routing.config import build_registry


def settings(**values: Any) -> ProviderSettings:
    return ProviderSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_openai_key_alone_offers_the_default_models() -> None:
    registry = build_registry(settings(openai_api_key="sk-abc"), environ={})
    image = registry.resolve("openai/gpt-image-1", Kind.IMAGE)
    vision = registry.resolve("openai/gpt-4o-mini", Kind.VISION)
    assert isinstance(image.provider, OpenAICompatible)
    assert image.provider.label == "OpenAI"
    assert image.provider.endpoint.base == "https://api.openai.com/v1"
    assert image.options is not None
    assert image.options.aspect_ratios == ("1:1", "3:2", "2:3")
    assert (image.options.seed, image.options.negative_prompt) == (False, False)
    assert vision.provider is image.provider


def test_openai_model_lists_and_base_url_come_from_the_environment() -> None:
    registry = build_registry(
        settings(
            openai_api_key="sk-abc",
            openai_base_url="http://127.0.0.1:11434/v1/",
            openai_image_models="dall-e-3,flux=black-forest-labs/FLUX.1-schnell",
            openai_vision_models="llava",
        ),
        environ={},
    )
    ids = [entry.id for entry in registry.entries if entry.id.startswith("openai/")]
    assert ids == ["openai/dall-e-3", "openai/flux", "openai/llava", "openai/gpt-image-2"]
    dalle = registry.resolve("openai/dall-e-3")
    assert dalle.options is not None and dalle.options.max_images == 1
    assert isinstance(dalle.provider, OpenAICompatible)
    assert dalle.provider.endpoint.base == "http://127.0.0.1:11434/v1"


def test_pollinations_is_offered_only_with_a_key() -> None:
    assert not [e for e in build_registry(settings(), environ={}).entries if "pollin" in e.id]
    registry = build_registry(settings(pollinations_api_key="pk_abc"), environ={})
    flux = registry.resolve("pollinations/flux", Kind.IMAGE)
    assert isinstance(flux.provider, Pollinations)
    assert [e.id for e in registry.of_provider(flux.provider, Kind.IMAGE)] == [
        "pollinations/flux",
        "pollinations/turbo",
    ]
    assert [e.id for e in registry.of_provider(flux.provider, Kind.VISION)] == [
        "pollinations/openai"
    ]
    assert flux.provider.chat.base == "https://gen.pollinations.ai/v1"


def test_toml_entries_of_both_types(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(
        """
[[provider]]
name = "together"
type = "openai"
base_url = "https://api.together.xyz/v1"
api_key_env = "TOGETHER_API_KEY"
sizes = ["1024x1024", "1344x768", "768x1344"]
response_format = "b64_json"
image_models = { flux-schnell = "black-forest-labs/FLUX.1-schnell-Free" }
vision_models = { llama-vision = "meta-llama/Llama-3.2-11B-Vision-Instruct-Turbo" }

[[provider]]
name = "pollen"
type = "pollinations"
label = "Pollinations (mine)"
api_key_env = "POLLEN_KEY"
image_models = ["flux"]
""",
        encoding="utf-8",
    )
    environ = {"TOGETHER_API_KEY": "tg-key", "POLLEN_KEY": "pk-key"}
    registry = build_registry(settings(providers_file=path), environ=environ)
    flux = registry.resolve("together/flux-schnell", Kind.IMAGE)
    assert isinstance(flux.provider, OpenAICompatible)
    assert flux.options is not None and flux.options.aspect_ratios == ("1:1", "16:9", "9:16")
    body = flux.provider.image_request(flux.upstream, ImageRequest(prompt="p", aspect_ratio="16:9"))
    assert body["size"] == "1344x768" and body["response_format"] == "b64_json"
    assert registry.resolve("together/llama-vision").kind == Kind.VISION
    pollen = registry.resolve("pollen/flux")
    assert pollen.provider.label == "Pollinations (mine)"


def test_a_broken_size_in_the_file_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(
        '[[provider]]\nname = "x"\ntype = "openai"\nsizes = ["huge"]\nimage_models = ["m"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="provider x: sizes"):
        build_registry(settings(providers_file=path), environ={})


EXAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "providers.example.toml"


def test_the_example_file_builds_these_models(tmp_path: Path) -> None:
    path = EXAMPLES
    environ = {
        "POLLINATIONS_API_KEY": "pk",
        "GEMINI_API_KEY": "gk",
        "HF_TOKEN": "hf",
        "OPENAI_API_KEY": "sk",
        "FAL_KEY": "fk",
        "REPLICATE_API_TOKEN": "rk",
    }
    registry = build_registry(settings(providers_file=path), environ=environ)
    ids = [entry.id for entry in registry.entries if entry.kind == Kind.VISION]
    assert ids[:7] == [
        "pollinations/openai",
        "gemini/gemini-2.5-flash",
        "gemini/gemini-2.5-flash-lite",
        "hf/qwen-vl",
        "openai/gpt-4o-mini",
        "ollama/llava",
        "dynaspark/gemini-1.5-flash",
    ]
    gemini = registry.resolve("gemini/gemini-2.5-flash").provider
    assert isinstance(gemini, OpenAICompatible)
    assert gemini.endpoint.url("chat/completions") == (
        "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"
    )
    hf = registry.resolve("hf/qwen-vl")
    assert hf.upstream == "Qwen/Qwen2.5-VL-7B-Instruct"
    ollama = registry.resolve("ollama/llava").provider
    assert isinstance(ollama, OpenAICompatible) and ollama.endpoint.headers() == {}
    assert registry.resolve("openai/dall-e-3").options is not None
    images = [entry.id for entry in registry.entries if entry.kind == Kind.IMAGE]
    for expected in (
        "pollinations/flux",
        "fal/flux-schnell",
        "fal/sd35",
        "replicate/flux-schnell",
        "replicate/flux-dev",
        "flux/schnell",
    ):
        assert expected in images


# --- edit models ----------------------------------------------------------------------------


def test_the_openai_key_alone_offers_gpt_image_2_as_an_edit_model() -> None:
    registry = build_registry(settings(openai_api_key="sk-abc"), environ={})
    edit = registry.resolve("openai/gpt-image-2", Kind.EDIT)
    assert isinstance(edit.provider, OpenAICompatible)
    assert edit.upstream == "gpt-image-2"
    options = edit.options
    assert options is not None
    assert (options.min_pictures, options.max_pictures, options.strength) == (1, 16, False)
    assert options.aspect_ratios == ("1:1", "3:2", "2:3")
    assert options.max_images == 4
    assert options.pictures.types == ("image/png", "image/jpeg", "image/webp")
    assert 45_000_000 < options.pictures.max_bytes < 50_000_000
    assert [e.id for e in registry.entries_of(Kind.EDIT)] == ["openai/gpt-image-2"]


def test_openai_edit_models_come_from_the_environment() -> None:
    registry = build_registry(
        settings(openai_api_key="sk-abc", openai_edit_models="dall-e-2,kontext=org/kontext-dev"),
        environ={},
    )
    dalle = registry.resolve("openai/dall-e-2", Kind.EDIT).options
    assert dalle is not None
    assert (dalle.min_pictures, dalle.max_pictures) == (1, 1)
    assert dalle.pictures.types == ("image/png",)
    assert dalle.pictures.max_bytes < 4_000_000 and dalle.pictures.max_side == 1024
    assert dalle.aspect_ratios == ("1:1",)
    other = registry.resolve("openai/kontext", Kind.EDIT).options
    assert other is not None
    assert (other.max_pictures, other.aspect_ratios) == (16, STANDARD_RATIOS)
    none = build_registry(settings(openai_api_key="sk", openai_edit_models="none"), environ={})
    assert none.entries_of(Kind.EDIT) == []


def test_an_entry_with_image_api_chat_draws_and_edits_in_chat(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(
        """
[[provider]]
name = "openrouter"
type = "openai"
label = "OpenRouter"
base_url = "https://openrouter.ai/api/v1"
api_key_env = "OPENROUTER_API_KEY"
image_api = "chat"
image_models = { nano-banana = "google/gemini-2.5-flash-image" }
edit_models = { banana-edit = { upstream = "google/gemini-2.5-flash-image" } }
""",
        encoding="utf-8",
    )
    registry = build_registry(
        settings(providers_file=path), environ={"OPENROUTER_API_KEY": "or-key"}
    )
    draw = registry.resolve("openrouter/nano-banana", Kind.IMAGE)
    edit = registry.resolve("openrouter/banana-edit", Kind.EDIT)
    assert isinstance(draw.provider, OpenAICompatible) and draw.provider.in_chat
    assert edit.provider is draw.provider and edit.upstream == draw.upstream
    assert draw.options is not None and edit.options is not None
    assert (draw.options.max_pictures, draw.options.max_images) == (0, 1)
    assert draw.options.aspect_ratios == STANDARD_RATIOS
    assert (edit.options.min_pictures, edit.options.max_pictures) == (1, 8)
    assert edit.options.strength is False
