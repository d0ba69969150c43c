"""Settings: the operator's first contact with the bot."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import RedactingFormatter
from bot.runtime import Runtime
from bot.settings import SettingsError, load_settings
from providers import Kind

TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtok"
ROOT = Path(__file__).resolve().parents[2]


def test_missing_token_explains_botfather(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="@BotFather") as caught:
        load_settings(_env_file=None)
    assert "missing" in str(caught.value) and ".env" in str(caught.value)


def test_malformed_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError, match="malformed") as caught:
        load_settings(_env_file=None, telegram_bot_token="not-a-token-secret-value")
    assert "not-a-token-secret-value" not in str(caught.value)


def test_id_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_USER_IDS", "1, 2 3")
    monkeypatch.setenv("ADMIN_USER_IDS", "")
    settings = load_settings(_env_file=None, telegram_bot_token=TOKEN)
    assert settings.allowed_user_ids == {1, 2, 3}
    assert settings.admin_user_ids == frozenset()
    monkeypatch.setenv("ALLOWED_CHAT_IDS", "abc")
    with pytest.raises(SettingsError, match="ALLOWED_CHAT_IDS"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN)


def test_webhook_requires_a_secret() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        load_settings(
            _env_file=None, telegram_bot_token=TOKEN, webhook_url="https://bot.example.org/hook"
        )


def test_run_command_without_token_fails_fast_with_help(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "@BotFather" in result.stderr and "TELEGRAM_BOT_TOKEN" in result.stderr


def test_token_is_redacted_from_log_lines_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "calling %s", (f"bot{TOKEN}",), sys.exc_info()
        )
    text = formatter.format(record)
    assert TOKEN not in text
    assert text.count("<token>") == 2


def test_empty_token_line_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv("PROXY", "")
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN is missing"):
        load_settings(_env_file=None)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert load_settings(_env_file=None).proxy is None


def test_unknown_default_models_and_log_levels_are_caught_at_start() -> None:
    with pytest.raises(SettingsError, match="DEFAULT_IMAGE_MODEL: Unknown model 'arta/flx'"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN, default_image_model="arta/flx")
    with pytest.raises(SettingsError, match="DEFAULT_VISION_MODEL"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN, default_vision_model="arta/flux")
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN, log_level="loud")


def test_a_broken_providers_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "providers.toml"
    broken.write_text("[[provider]]\nname = 'mine'\ntype = 'dalle'\nimage_models = ['a']\n")
    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": TOKEN, "PROVIDERS_FILE": str(broken)}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"{broken}: entry 'mine': unknown type 'dalle' "
        "(use openai, pollinations, fal, replicate or gradio)"
    )
    assert TOKEN not in result.stderr


async def test_a_default_whose_provider_has_no_key_is_replaced_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(SettingsError, match="DEFAULT_IMAGE_MODEL: Unknown model 'nosuch/x'"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN, default_image_model="nosuch/x")
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        data_dir=tmp_path,
        default_image_model="fal/flux-dev",
        default_vision_model="openai/gpt-4o-mini",
    )
    with caplog.at_level(logging.WARNING):
        runtime = await Runtime.open(settings)
    try:
        assert runtime.defaults[Kind.IMAGE].id == "arta/flux"
        assert runtime.defaults[Kind.VISION].id == "dynaspark/gemini-1.5-flash"
    finally:
        await runtime.close()
    assert (
        "DEFAULT_IMAGE_MODEL fal/flux-dev is not offered (FAL_KEY is not set);"
        " using arta/flux instead" in caplog.messages
    )
    assert any("OPENAI_API_KEY is not set" in m for m in caplog.messages)


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented(document: str) -> None:
    from bot.settings import BotSettings

    text = (ROOT / document).read_text(encoding="utf-8")
    for name in BotSettings.model_fields:
        variable = name.upper()
        shown = f"| `{variable}` |" if document == "README.md" else f"{variable}="
        assert shown in text, f"{variable} is missing from {document}"
