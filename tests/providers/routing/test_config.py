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


# -- edit models ------------------------------------------------------------------------------

EDITS = """
[[provider]]
name = "fal"
type = "fal"
edit_models = { a = "x/a", many = { upstream = "x/m", image_field = "images", image_list = true } }

[[provider]]
name = "replicate"
type = "replicate"
image_models = ["black-forest-labs/flux-schnell"]
edit_models = ["black-forest-labs/flux-kontext-pro", "nano=google/nano-banana"]

[[provider]]
name = "space"
type = "gradio"
base_url = "https://black-forest-labs-flux-1-kontext-dev.hf.space"
edit_models = { kontext = "/infer" }
"""


def test_edit_models_come_as_a_list_a_table_or_inline_tables(tmp_path: Path) -> None:
    fal, replicate, space = read_providers_file(toml(tmp_path, EDITS))
    assert fal.models(Kind.EDIT) == [("a", "x/a"), ("many", "x/m")]
    many = fal.edit_model("x/m")
    assert (many.image_field, many.image_list) == ("images", True)
    one = fal.edit_model("x/a")
    assert (one.image_field, one.image_list) == (None, None)  # the type's defaults
    assert replicate.models(Kind.EDIT) == [
        ("flux-kontext-pro", "black-forest-labs/flux-kontext-pro"),
        ("nano", "google/nano-banana"),
    ]
    assert replicate.models(Kind.IMAGE) == [("flux-schnell", "black-forest-labs/flux-schnell")]
    assert space.models(Kind.EDIT) == [("kontext", "/infer")]
    assert space.models(Kind.IMAGE) == space.models(Kind.VISION) == []  # edit models alone do


def test_an_inline_edit_table_may_leave_image_list_to_the_model(tmp_path: Path) -> None:
    path = toml(
        tmp_path,
        "[[provider]]\nname = 'r'\ntype = 'replicate'\n"
        "edit_models = { nano = { upstream = 'google/nano-banana', image_field = 'image_input' } }",
    )
    (config,) = read_providers_file(path)
    model = config.edit_model("google/nano-banana")
    assert (model.upstream, model.image_field, model.image_list) == (
        "google/nano-banana",
        "image_input",
        None,
    )


def test_image_api_chat_is_for_openai_entries(tmp_path: Path) -> None:
    path = toml(
        tmp_path,
        """
        [[provider]]
        name = "openrouter"
        type = "openai"
        base_url = "https://openrouter.ai/api/v1"
        image_api = "chat"
        image_models = { nano-banana = "google/gemini-2.5-flash-image" }
        edit_models = { nano-banana-edit = "google/gemini-2.5-flash-image" }
        """,
    )
    (config,) = read_providers_file(path)
    assert config.image_api == "chat"
    assert config.models(Kind.EDIT) == [("nano-banana-edit", "google/gemini-2.5-flash-image")]
    plain = ProviderConfig(name="o", type="openai", edit_models=["gpt-image-2"])
    assert plain.image_api is None  # images/generations and images/edits


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[[provider]]\nname = 'x'\ntype = 'fal'\nimage_api = 'chat'\nedit_models = ['a/b']",
            r"entry 'x': image_api is for openai entries only",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'gradio'\nbase_url = 'https://a.hf.space'\n"
            "image_api = 'images'\nedit_models = { k = '/infer' }",
            r"entry 'x': image_api is for openai entries only",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'openai'\nimage_api = 'edits'\nedit_models = ['m']",
            r"entry 'x': image_api: Input should be 'images' or 'chat'",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'openai'\nimage_models = ['flux']\n"
            "edit_models = { flux = 'flux-kontext' }",
            r"entry 'x': two models share the alias 'flux': 'flux' and 'flux-kontext'",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'openai'\nvision_models = ['gpt-image-2']\n"
            "edit_models = ['gpt-image-2']",
            r"entry 'x': two models share the alias 'gpt-image-2'",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'fal'\nedit_models = ['Bad Alias=a/b']",
            r"entry 'x': 'bad alias=a/b' is not a usable model",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'fal'\n"
            "edit_models = { multi = { upstream = 'a/b', image_fields = 'image_urls' } }",
            r"entry 'x': unknown key 'edit_models.multi.image_fields'",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'fal'\n"
            "edit_models = { multi = { image_field = 'image_urls' } }",
            r"entry 'x': 'edit_models.multi.upstream' is required",
        ),
        (
            "[[provider]]\nname = 'x'\ntype = 'fal'\n"
            "edit_models = { multi = { upstream = 'a/b', image_field = 'image urls' } }",
            r"entry 'x': edit_models.multi.image_field: String should match pattern",
        ),
    ],
)
def test_a_broken_edit_entry_is_one_line_naming_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = toml(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        read_providers_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_each_key_enables_its_shortcut_with_the_default_edit_models(tmp_path: Path) -> None:
    found = shortcuts(
        settings(
            tmp_path,
            openai_api_key="k1",
            pollinations_api_key="k2",
            fal_key="k3",
            replicate_api_token="k4",
        )
    )
    assert {c.config.name: c.config.models(Kind.EDIT) for c in found} == {
        "openai": [("gpt-image-2", "gpt-image-2")],
        "pollinations": [("kontext", "kontext")],
        "fal": [("kontext", "fal-ai/flux-pro/kontext")],
        "replicate": [("flux-kontext-pro", "black-forest-labs/flux-kontext-pro")],
    }
    assert all(c.config.image_api is None for c in found)


def test_none_turns_a_shortcuts_edit_models_off(tmp_path: Path) -> None:
    found = shortcuts(
        settings(
            tmp_path,
            openai_api_key="k1",
            fal_key="k3",
            openai_edit_models="none",
            fal_edit_models=" None ",
        )
    )
    assert [(c.config.name, c.config.models(Kind.EDIT)) for c in found] == [
        ("openai", []),
        ("fal", []),
    ]
    assert [c.config.models(Kind.IMAGE) for c in found] == [
        [("gpt-image-1", "gpt-image-1")],
        [("flux-schnell", "fal-ai/flux/schnell"), ("flux-dev", "fal-ai/flux/dev")],
    ]


def test_a_shortcuts_edit_models_can_be_changed_and_may_not_clash(tmp_path: Path) -> None:
    (replicate,) = shortcuts(
        settings(
            tmp_path,
            replicate_api_token="k",
            replicate_edit_models="nano=google/nano-banana, qwen/qwen-image-edit",
        )
    )
    assert replicate.config.models(Kind.EDIT) == [
        ("nano", "google/nano-banana"),
        ("qwen-image-edit", "qwen/qwen-image-edit"),
    ]
    with pytest.raises(ConfigError, match=r"^OPENAI_\*_MODELS: two models share the alias"):
        shortcuts(settings(tmp_path, openai_api_key="k", openai_edit_models="gpt-image-1"))
    (fal,) = shortcuts(settings(tmp_path, fal_key="k", fal_image_models="none"))
    assert fal.config.models(Kind.IMAGE) == []  # the edit model alone keeps fal offered


EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "providers.example.toml"


def test_the_example_file_shows_an_edit_entry_of_each_type() -> None:
    """deploy/providers.example.toml stays valid, and its edit entries say what they mean to."""
    configs = {config.name: config for config in read_providers_file(EXAMPLE)}
    edits = {name: config.models(Kind.EDIT) for name, config in configs.items()}
    assert edits["openai"] == [("gpt-image-2", "gpt-image-2")]
    assert edits["pollinations"] == [("kontext", "kontext")]
    openrouter = configs["openrouter"]
    assert (openrouter.type, openrouter.image_api) == ("openai", "chat")
    assert openrouter.models(Kind.IMAGE)[0][1] == openrouter.models(Kind.EDIT)[0][1]
    multi = configs["fal"].edit_model("fal-ai/flux-pro/kontext/multi")
    assert (multi.image_field, multi.image_list) == ("image_urls", True)
    nano = configs["replicate"].edit_model("google/nano-banana")
    assert (nano.image_field, nano.image_list) == ("image_input", True)
    assert edits["kontext"] == [("kontext", "/infer")] and configs["kontext"].type == "gradio"
    assert {config.type for config in configs.values() if config.models(Kind.EDIT)} == {
        "openai",
        "pollinations",
        "fal",
        "replicate",
        "gradio",
    }
