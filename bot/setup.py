"""``python -m bot setup``: asks for the bot token and one provider key, checks both live, and
writes them to ``.env`` in the working directory (mode 0600, other lines kept)."""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr
from telegram.error import NetworkError

from bot import logs
from bot.settings import TOKEN_PATTERN, BotSettings
from bot.startup import TokenRejected, check_token, reason, telegram_bot
from providers import ProviderContext, ProviderSettings
from providers.core.entry import ConfigError
from providers.routing.check import Probe, probe, probed_models
from providers.routing.config import build_registry
from providers.routing.registry import ModelEntry

ENV_FILE = Path(".env")


@dataclass(frozen=True)
class KeyChoice:
    label: str
    variable: str
    providers: tuple[str, ...]
    """Names of the providers the key enables or improves, whose default models are probed."""


CHOICES = (
    KeyChoice("Hugging Face token (free at huggingface.co/settings/tokens)", "HF_TOKEN", ("sd35",)),
    KeyChoice("OpenAI API key", "OPENAI_API_KEY", ("openai",)),
    KeyChoice("Pollinations key", "POLLINATIONS_API_KEY", ("pollinations",)),
    KeyChoice("fal key", "FAL_KEY", ("fal",)),
    KeyChoice("Replicate API token", "REPLICATE_API_TOKEN", ("replicate",)),
)


class Aborted(Exception):
    """The input ended (or Ctrl+C) before setup was done."""


class Dialogue:
    """Questions on ``out``, answers from ``answers``: hidden (getpass) on a terminal, plain
    lines otherwise, so that setup can be scripted."""

    def __init__(self, answers: TextIO, out: TextIO) -> None:
        self.answers, self.out = answers, out

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        try:
            if secret and self.answers.isatty():
                return getpass.getpass(prompt, stream=self.out).strip()
            self.out.write(prompt)
            self.out.flush()
            line = self.answers.readline()
        except (KeyboardInterrupt, EOFError):
            raise Aborted from None
        if not line:
            raise Aborted
        return line.strip()


def setup(answers: TextIO | None = None, out: TextIO | None = None, path: Path = ENV_FILE) -> int:
    """Runs the dialogue; 0 when ``.env`` was written, 2 for a token that cannot work, 1 when
    Telegram could not be reached or the input ended."""
    talk = Dialogue(answers or sys.stdin, out or sys.stdout)
    try:
        return _setup(talk, path)
    except Aborted:
        talk.say("\nSetup stopped; .env is unchanged.")
        return 1


def _setup(talk: Dialogue, path: Path) -> int:
    from dotenv import dotenv_values

    existing = {k: v for k, v in dotenv_values(path).items() if v} if path.exists() else {}
    api_url = os.environ.get("TELEGRAM_API_URL") or existing.get("TELEGRAM_API_URL")
    api_url = api_url or BotSettings.model_fields["telegram_api_url"].default
    talk.say(
        f"This writes {path.resolve()} (the bot reads .env from the working directory).\n"
        "Create a bot with @BotFather in Telegram (/newbot) and paste the token it gives you."
    )
    token = talk.ask("Bot token (input hidden): ", secret=True)
    logs.hide(token)
    if not TOKEN_PATTERN.fullmatch(token):
        talk.say("That is not a bot token (it looks like 123456789:AA...); .env is unchanged.")
        return 2
    try:
        username = asyncio.run(_get_me(token, api_url))
    except TokenRejected as error:
        talk.say(f"{error}\n.env is unchanged.")
        return 2
    except NetworkError as error:
        talk.say(f"Cannot reach Telegram at {api_url}: {logs.redact(reason(error))}")
        talk.say(".env is unchanged; try again when Telegram can be reached.")
        return 1
    talk.say(f"Telegram knows this token: it is @{username}.")
    values = {"TELEGRAM_BOT_TOKEN": token}
    chosen = _ask_provider(talk)
    if chosen is not None:
        key = talk.ask(f"{chosen.label} (input hidden): ", secret=True)
        logs.hide(key)
        answered = _answering_models(talk, chosen, key) if key else []
        if key and (answered or talk.ask("Save this key anyway? [y/N] ").lower().startswith("y")):
            values[chosen.variable] = key
            values.update(_defaults(talk, answered, existing))
    write_env(path, values)
    talk.say(
        f"Wrote {', '.join(values)} to {path} (only you can read it). "
        "Start the bot with `python -m bot` (or `make run`)."
    )
    return 0


async def _get_me(token: str, api_url: str) -> str:
    bot = telegram_bot(token, api_url)
    try:
        user = await check_token(bot, api_url)
    finally:
        await bot.shutdown()
    return user.username or str(user.id)


def _ask_provider(talk: Dialogue) -> KeyChoice | None:
    talk.say("One provider key makes sure the bot can draw and answer. Which do you have?")
    for number, choice in enumerate(CHOICES, start=1):
        talk.say(f"  {number}. {choice.label}")
    talk.say("  0. none for now (skip)")
    while True:
        answer = talk.ask(f"Choose 0-{len(CHOICES)} [0]: ") or "0"
        if answer.isdigit() and int(answer) <= len(CHOICES):
            return CHOICES[int(answer) - 1] if int(answer) else None
        talk.say(f"Please answer with a number from 0 to {len(CHOICES)}.")


def _answering_models(talk: Dialogue, chosen: KeyChoice, key: str) -> list[ModelEntry]:
    """Probes the default models of the providers ``key`` is for, as ``python -m providers
    check`` does; prints one line per model and returns those that answered."""
    field = chosen.variable.lower()
    try:
        settings = ProviderSettings(**{field: SecretStr(key)})  # type: ignore[arg-type]
        registry = build_registry(settings, {**os.environ, chosen.variable: key})
    except (ConfigError, ValueError) as error:
        talk.say(f"Cannot check the key: {logs.redact(str(error))}")
        return []
    entries = [e for e in probed_models(registry) if e.provider.name in chosen.providers]
    if not entries:
        talk.say("No provider to check with this key.")
        return []
    talk.say(f"Checking {', '.join(e.id for e in entries)} (this can take a minute)...")
    probes = asyncio.run(_probe_all(settings, entries))
    for item in probes:
        result = f"ok in {item.seconds:.1f} s" if item.ok else f"FAILED: {item.problem}"
        talk.say(logs.redact(f"  {item.entry.id}: {result}"))
    return [item.entry for item in probes if item.ok]


def _defaults(
    talk: Dialogue, answered: list[ModelEntry], existing: Mapping[str, str | None]
) -> dict[str, str]:
    """DEFAULT_IMAGE_MODEL, DEFAULT_VISION_MODEL and DEFAULT_EDIT_MODEL for the models that
    answered, where .env does not choose them already: the chats draw, answer and edit with
    the key from the start."""
    chosen: dict[str, str] = {}
    for entry in answered:
        variable = f"DEFAULT_{entry.kind.value.upper()}_MODEL"
        if variable not in chosen and not existing.get(variable):
            chosen[variable] = entry.id
    if chosen:
        *first, last = chosen.values()
        listed = f"{', '.join(first)} and {last}" if first else last
        talk.say(f"Chats will use {listed} unless they pick another.")
    return chosen


async def _probe_all(settings: ProviderSettings, entries: list[ModelEntry]) -> list[Probe]:
    context = ProviderContext.from_settings(settings)
    try:
        return list(await asyncio.gather(*(probe(entry, context) for entry in entries)))
    finally:
        await context.close()


def write_env(path: Path, values: Mapping[str, str]) -> None:
    """Sets ``values`` in the dotenv file at ``path``: an existing line for a key is replaced
    (later duplicates dropped), other lines are kept, new keys appended; mode 0600."""
    lines = path.read_text().splitlines() if path.exists() else []
    done: set[str] = set()
    kept: list[str] = []
    for line in lines:
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        key = match.group(1) if match else ""
        if key in values:
            if key not in done:
                kept.append(f"{key}={_quoted(values[key])}")
                done.add(key)
            continue
        kept.append(line)
    kept += [f"{key}={_quoted(value)}" for key, value in values.items() if key not in done]
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".env.")
    try:
        with os.fdopen(fd, "w") as file:  # mkstemp: mode 0600
            file.write("\n".join(kept) + "\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _quoted(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.:/+=@-]*", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
