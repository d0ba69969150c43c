"""The docs match the code: every setting in the README table and .env.example with the code's
default, every command of the menu in /help (English and Russian) and in the README, and empty
settings in .env behaving as the docs say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic.fields import FieldInfo

from bot.features.start import help_text
from bot.i18n import translator
from bot.settings import BotSettings, SettingsError, load_settings
from bot.telegram.commands import MENU
from providers import ProviderSettings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtok"

# Where the code's default is a "not set" that means a documented value.
MEANING = {
    "PROVIDERS_FILE": "providers.toml",  # None: providers.toml, when that file exists
    "REPLICA_ID": "",  # the host name and pid, found at start
}


def env_name(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias or field.alias
    return alias.upper() if isinstance(alias, str) else name.upper()


def settings_fields() -> dict[str, FieldInfo]:
    fields = {env_name(n, f): f for n, f in ProviderSettings.model_fields.items()}
    fields.update({env_name(n, f): f for n, f in BotSettings.model_fields.items()})
    return fields


def code_default(variable: str, field: FieldInfo) -> str:
    """The default as an operator would write it in .env ("" for unset, empty or required)."""
    if variable in MEANING:
        return MEANING[variable]
    if field.is_required():
        return ""
    value: Any = field.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, frozenset | set | list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def same(documented: str, code: str) -> bool:
    if documented == code:
        return True
    try:
        return float(documented) == float(code)
    except ValueError:
        return Path(documented) == Path(code) if "/" in documented + code else False


def readme_table() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table = {}
    for match in re.finditer(r"^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|", section, re.M):
        cell = match.group(2).strip()
        table[match.group(1)] = "" if cell.startswith("*(") else cell.strip("`")
    return table


def env_example() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for match in re.finditer(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", text, re.M):
        assert match.group(1) not in found, f"{match.group(1)} twice in .env.example"
        found[match.group(1)] = match.group(2).strip()
    return found


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented_with_its_default(document: str) -> None:
    documented = readme_table() if document == "README.md" else env_example()
    problems = []
    for variable, field in settings_fields().items():
        if variable not in documented:
            problems.append(f"{variable} is missing")
            continue
        expected = code_default(variable, field)
        if not same(documented[variable], expected):
            problems.append(f"{variable}: documented {documented[variable]!r}, code {expected!r}")
    unknown = set(documented) - set(settings_fields())
    problems += [f"{name} is documented but not a setting" for name in sorted(unknown)]
    assert not problems, f"{document}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_menu_command_is_in_help(language: str) -> None:
    for inline in (False, True):
        text = help_text(translator(language), "ImagineTestBot", inline)
        missing = [name for name, _ in MENU if not re.search(rf"/{name}\b", text)]
        assert not missing, f"/help ({language}) does not mention {missing}"


def test_every_menu_command_is_in_the_readme() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name, _ in MENU if not re.search(rf"`/{name}\b", text)]
    assert not missing, f"the README does not mention {missing}"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_help_shows_the_edit_button_only_with_inline_mode(language: str) -> None:
    tr = translator(language)
    assert "✏️" not in help_text(tr, "ImagineTestBot", inline=False)
    assert "✏️" in help_text(tr, "ImagineTestBot", inline=True)


def test_the_readme_names_the_file_that_registers_providers() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "providers/__init__.py" not in text
    for document in (".env.example", "deploy/README.md"):
        text = (ROOT / document).read_text(encoding="utf-8")
        assert "WEBHOOK_SECRET= is an error" not in text.replace("`", "")


def load_env(tmp_path: Path, text: str) -> BotSettings:
    env = tmp_path / ".env"
    env.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n{text}", encoding="utf-8")
    return load_settings(_env_file=env, data_dir=tmp_path)


def test_empty_settings_in_env_are_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in settings_fields():
        monkeypatch.delenv(variable, raising=False)
    settings = load_env(
        tmp_path,
        "DEFAULT_IMAGE_MODEL=\nDEFAULT_VISION_MODEL=\nWEBHOOK_SECRET=\nWEBHOOK_URL=\n"
        "INLINE_CACHE_CHAT_ID=\nADMIN_USER_IDS=\nLOG_FORMAT=\nLOG_PROMPTS=\nLOG_LEVEL=\n"
        "MAX_JOBS_PER_USER=\nPROXY=\nFALLBACK_IMAGE_MODELS=\n",
    )
    defaults = BotSettings.model_fields
    assert settings.default_image_model == defaults["default_image_model"].default
    assert settings.default_vision_model == defaults["default_vision_model"].default
    assert settings.webhook_url is None and settings.webhook_secret is None
    assert settings.inline_cache_chat_id is None and settings.admin_user_ids == frozenset()
    assert settings.log_format == "text" and settings.log_prompts is False
    assert settings.log_level == "INFO" and settings.max_jobs_per_user == 2
    assert settings.proxy is None and settings.fallback_image_models == "auto"


def test_an_empty_webhook_secret_with_a_webhook_url_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in settings_fields():
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET is required with WEBHOOK_URL"):
        load_env(tmp_path, "WEBHOOK_URL=https://bot.example.org/hook\nWEBHOOK_SECRET=\n")


def test_log_format_and_log_prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in settings_fields():
        monkeypatch.delenv(variable, raising=False)
    settings = load_env(tmp_path, "LOG_FORMAT=JSON\nLOG_PROMPTS=true\n")
    assert settings.log_format == "json" and settings.log_prompts is True
    with pytest.raises(SettingsError, match=r"^LOG_FORMAT: .*'text' or 'json'"):
        load_env(tmp_path, "LOG_FORMAT=yaml\n")
