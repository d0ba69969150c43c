"""What the operator configures: the env shortcuts and providers.toml, and how mistakes are told."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from providers import Kind, ProviderSettings
from providers.core.entry import ConfigError, ProviderConfig, parse_model_item
from providers.routing.config import configured, read_providers_file, shortcuts


def settings(tmp_path: Path, **values: Any) -> ProviderSettings:
    return ProviderSettings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.toml"
    path.write_text(text, encoding="utf-8")
    return path


TOGETHER = """
[[provider]]
name = "together"
type = "openai"
base_url = "https://api.together.xyz/v1/"
api_key_env = "TOGETHER_API_KEY"
image_models = { flux-schnell = "black-forest-labs/FLUX.1-schnell-Free" }
vision_models = { llama-vision = "meta-llama/Llama-3.2-11B-Vision-Instruct-Turbo" }

[[provider]]
name = "flux-space"
type = "gradio"
base_url = "https://black-forest-labs-flux-1-dev.hf.space"
image_models = { flux-dev = "/infer" }
"""


@pytest.mark.parametrize(
    ("item", "pair"),
    [
        ("gpt-image-1", ("gpt-image-1", "gpt-image-1")),
        ("black-forest-labs/flux-schnell", ("flux-schnell", "black-forest-labs/flux-schnell")),
        ("Flux-Dev=fal-ai/flux/dev", ("flux-dev", "fal-ai/flux/dev")),
        (" turbo ", ("turbo", "turbo")),
    ],
)
def test_model_list_items_become_alias_and_upstream(item: str, pair: tuple[str, str]) -> None:
    assert parse_model_item(item) == pair


def test_no_key_no_shortcut(tmp_path: Path) -> None:
    assert shortcuts(settings(tmp_path)) == []
    assert shortcuts(settings(tmp_path, openai_api_key="  ")) == []


def test_each_key_enables_its_shortcut_with_the_default_models(tmp_path: Path) -> None:
    found = shortcuts(
        settings(
            tmp_path,
            openai_api_key="k1",
            pollinations_api_key="k2",
            fal_key="k3",
            replicate_api_token="k4",
        )
    )
    assert [c.config.name for c in found] == ["openai", "pollinations", "fal", "replicate"]
    openai, pollinations, fal, replicate = (c.config for c in found)
    assert openai.url == "https://api.openai.com/v1"
    assert openai.models(Kind.IMAGE) == [("gpt-image-1", "gpt-image-1")]
    assert openai.models(Kind.VISION) == [("gpt-4o-mini", "gpt-4o-mini")]
    assert pollinations.models(Kind.IMAGE) == [("flux", "flux"), ("turbo", "turbo")]
    assert fal.url == "https://queue.fal.run"
    assert fal.models(Kind.IMAGE) == [
        ("flux-schnell", "fal-ai/flux/schnell"),
        ("flux-dev", "fal-ai/flux/dev"),
    ]
    assert fal.models(Kind.VISION) == []
    assert replicate.models(Kind.IMAGE) == [("flux-schnell", "black-forest-labs/flux-schnell")]
    assert [c.api_key.get_secret_value() for c in found if c.api_key] == ["k1", "k2", "k3", "k4"]


def test_shortcut_model_lists_and_urls_can_be_changed(tmp_path: Path) -> None:
    (found,) = shortcuts(
        settings(
            tmp_path,
            openai_api_key="k",
            openai_base_url="http://127.0.0.1:11434/v1/",
            openai_image_models="none",
            openai_vision_models="vision=llava:13b, moondream",
        )
    )
    assert found.config.url == "http://127.0.0.1:11434/v1"
    assert found.config.models(Kind.IMAGE) == []
    assert found.config.models(Kind.VISION) == [
        ("vision", "llava:13b"),
        ("moondream", "moondream"),
    ]


def test_a_shortcut_with_clashing_aliases_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"FAL_.*'a/flux' and 'b/flux'"):
        shortcuts(settings(tmp_path, fal_key="k", fal_image_models="a/flux,b/flux"))


def test_the_file_adds_providers_with_keys_from_the_environment(tmp_path: Path) -> None:
    path = toml(tmp_path, TOGETHER)
    found = configured(
        settings(tmp_path, providers_file=path), environ={"TOGETHER_API_KEY": "secret"}
    ).providers
    together, space = found
    assert together.config.url == "https://api.together.xyz/v1"
    assert together.config.models(Kind.IMAGE) == [
        ("flux-schnell", "black-forest-labs/FLUX.1-schnell-Free")
    ]
    assert together.api_key is not None and together.api_key.get_secret_value() == "secret"
    assert "secret" not in repr(together)
    assert space.config.type == "gradio" and space.api_key is None


def test_hf_token_applies_to_a_space_that_names_no_key(tmp_path: Path) -> None:
    path = toml(tmp_path, TOGETHER)
    found = configured(
        settings(tmp_path, providers_file=path, hf_token="hf-x"), environ={}
    ).providers
    (space,) = found
    assert space.api_key is not None and space.api_key.get_secret_value() == "hf-x"


def test_an_entry_whose_key_is_missing_is_not_offered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = toml(tmp_path, TOGETHER)
    with caplog.at_level(logging.INFO):
        found = configured(settings(tmp_path, providers_file=path), environ={})
    assert [c.config.name for c in found.providers] == ["flux-space"]
    assert found.not_offered["together"] == "TOGETHER_API_KEY is not set"
    assert found.not_offered["fal"] == "FAL_KEY is not set"
    assert "together is not offered: TOGETHER_API_KEY is not set" in caplog.text


def test_an_entry_named_like_a_shortcut_replaces_it(tmp_path: Path) -> None:
    path = toml(
        tmp_path,
        """
        [[provider]]
        name = "openai"
        type = "openai"
        base_url = "https://generativelanguage.googleapis.com/v1beta/openai/"
        api_key_env = "GEMINI_API_KEY"
        vision_models = ["gemini-2.5-flash"]
        """,
    )
    found = configured(
        settings(tmp_path, providers_file=path, openai_api_key="k"),
        environ={"GEMINI_API_KEY": "g"},
    )
    (only,) = found.providers
    assert only.config.url.startswith("https://generativelanguage.googleapis.com")
    assert only.config.models(Kind.VISION) == [("gemini-2.5-flash", "gemini-2.5-flash")]


def test_the_default_file_may_be_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert configured(settings(tmp_path), environ={}).providers == []
    toml(tmp_path, TOGETHER)
    found = configured(settings(tmp_path), environ={}).providers
    assert [c.config.name for c in found] == ["flux-space"]


def test_a_file_named_explicitly_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot be read"):
        configured(settings(tmp_path, providers_file=missing), environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[provider]\nname = 1", r"is not valid TOML"),
        ("[[provider]]\nname = 'x'\ntype = 'dalle'", r"entry 'x': unknown type 'dalle'"),
        ("[[provider]]\ntype = 'openai'\nimage_models = ['a']", r"entry 1: 'name' is required"),
        (
            "[[provider]]\nname = 'x'\ntype = 'openai'\nimage_models = ['a']\ncolour = 'red'",
            r"entry 'x': unknown key 'colour'",
        ),
        ("[[provider]]\nname = 'x'\ntype = 'openai'", r"entry 'x': it lists no image_models"),
        (
            "[[provider]]\nname = 'Big Name'\ntype = 'openai'\nimage_models = ['a']",
            r"entry 'Big Name': name must be 1-32 lower-case letters",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'gradio'\nimage_models = {a = '/infer'}",
            r"entry 'x': a gradio entry needs base_url",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'openai'\nimage_models = ['p/flux', 'q/flux']",
            r"entry 'x': two models share the alias 'flux': 'p/flux' and 'q/flux'",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'openai'\nimage_models = ['a']\n"
            "[[provider]]\nname = 'x'\ntype = 'fal'\nimage_models = ['b']",
            r"entry 'x': the name 'x' is used twice",
        ),
        ("[settings]\nx = 1", r"unknown table 'settings'"),
        (
            "[[provider]]\nname = 'x'\ntype = 'openai'\napi_key_env = 'sk-abc'\n"
            "image_models = ['a']",
            r"entry 'x': api_key_env must be the name of an environment variable",
        ),
    ],
)
def test_a_broken_file_is_one_line_naming_file_entry_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = toml(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        read_providers_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_list_and_table_model_forms_agree() -> None:
    listed = ProviderConfig(name="a", type="replicate", image_models=["owner/Model-X"])
    table = ProviderConfig(name="a", type="replicate", image_models={"Model-X": "owner/Model-X"})
    assert listed.models(Kind.IMAGE) == table.models(Kind.IMAGE) == [("model-x", "owner/Model-X")]
