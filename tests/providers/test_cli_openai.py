"""``python -m providers`` checking the openai and pollinations types against loopback fakes."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from providers import ProviderSettings
from providers.cli import run
from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.pollinations import FakePollinations, jpeg_bytes


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def pollinations_fake() -> AsyncIterator[FakePollinations]:
    async with FakePollinations() as fake:
        yield fake  # type: ignore[misc]


def settings(tmp_path: Path, **values: Any) -> ProviderSettings:
    return ProviderSettings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def openai_settings(tmp_path: Path, fake: FakeOpenAI, **values: Any) -> ProviderSettings:
    return settings(tmp_path, openai_api_key=fake.api_key, openai_base_url=fake.base_url, **values)


async def test_imagine_with_openai_saves_the_pictures(
    tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    out = io.StringIO()
    target = tmp_path / "out"
    argv = ["imagine", "a fox", "--model", "openai/gpt-image-1", "--n", "2", "--ar", "2:3"]
    status = await run([*argv, "-o", str(target)], openai_settings(tmp_path, openai_fake), out)
    assert status == 0
    saved = [Path(line) for line in out.getvalue().splitlines()]
    assert [p.read_bytes() for p in saved] == [png_bytes(0), png_bytes(1)]
    assert [p.name for p in saved] == ["a-fox-1.png", "a-fox-2.png"]
    assert openai_fake.image_calls[0].body["size"] == "1024x1536"


async def test_imagine_downloads_url_results(tmp_path: Path, openai_fake: FakeOpenAI) -> None:
    openai_fake.image_format = "url"
    out = io.StringIO()
    values = {"openai_image_models": "flux-dev"}
    argv = ["imagine", "a fox", "--model", "openai/flux-dev", "-o", str(tmp_path / "o")]
    assert await run(argv, openai_settings(tmp_path, openai_fake, **values), out) == 0
    saved = [Path(line) for line in out.getvalue().splitlines()]
    assert [p.read_bytes() for p in saved] == [png_bytes(0)]


async def test_ask_with_openai_prints_the_whole_answer(
    tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(png_bytes(2))
    out = io.StringIO()
    argv = ["ask", "what is this?", "--image", str(image), "--model", "openai/gpt-4o-mini"]
    assert await run(argv, openai_settings(tmp_path, openai_fake), out) == 0
    assert out.getvalue().strip() == openai_fake.answer
    assert openai_fake.chat_calls[0].images == [png_bytes(2)]


@pytest.mark.parametrize("fault", ["401", "429", "500", "malformed"])
async def test_an_openai_failure_exits_1_naming_the_provider_not_the_key(
    tmp_path: Path,
    openai_fake: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    fault: Any,
) -> None:
    openai_fake.fail("images", fault)
    argv = ["imagine", "a fox", "--model", "openai/gpt-image-1", "-o", str(tmp_path)]
    assert await run(argv, openai_settings(tmp_path, openai_fake), io.StringIO()) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1].startswith("error: OpenAI: ")
    assert openai_fake.api_key is not None
    assert openai_fake.api_key not in captured.err + captured.out


async def test_an_option_the_model_refuses_exits_2(
    tmp_path: Path, openai_fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["imagine", "a fox", "--model", "openai/gpt-image-1", "--seed", "3"]
    assert await run(argv, openai_settings(tmp_path, openai_fake)) == 2
    assert "does not take a seed" in capsys.readouterr().err
    assert openai_fake.requests == []


async def test_models_lists_the_configured_openai_and_pollinations_models(
    tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    out = io.StringIO()
    values = {"pollinations_api_key": "pk-x"}
    assert await run(["models"], openai_settings(tmp_path, openai_fake, **values), out) == 0
    ids = [line.split()[0] for line in out.getvalue().splitlines()]
    assert {"openai/gpt-image-1", "openai/gpt-4o-mini", "pollinations/flux"} <= set(ids)
    assert {"pollinations/turbo", "pollinations/openai"} <= set(ids)
    assert "sk-" not in out.getvalue() and "pk-x" not in out.getvalue()


async def test_imagine_and_ask_with_pollinations(
    tmp_path: Path, pollinations_fake: FakePollinations
) -> None:
    values = {
        "pollinations_api_key": pollinations_fake.api_key,
        "pollinations_api_url": pollinations_fake.url,
    }
    out = io.StringIO()
    argv = ["imagine", "a fox", "--model", "pollinations/flux", "--seed", "5", "-o", str(tmp_path)]
    assert await run(argv, settings(tmp_path, **values), out) == 0
    saved = [Path(line) for line in out.getvalue().splitlines()]
    assert [(p.suffix, p.read_bytes()) for p in saved] == [(".jpg", jpeg_bytes(5))]

    out = io.StringIO()
    argv = ["ask", "what is a fox?", "--model", "pollinations/openai"]
    assert await run(argv, settings(tmp_path, **values), out) == 0
    assert out.getvalue().strip() == pollinations_fake.answer


async def test_python_m_providers_reads_the_key_and_base_url_from_the_environment(
    tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(png_bytes(1))
    assert openai_fake.api_key is not None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "POLLINATIONS_"))},
        "OPENAI_API_KEY": openai_fake.api_key,
        "OPENAI_BASE_URL": openai_fake.base_url,
        "DATA_DIR": str(tmp_path),
        "PROVIDERS_FILE": "",
    }

    async def cli(*argv: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "providers",
            *argv,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    status, out, err = await cli("imagine", "a fox", "--model", "openai/gpt-image-1")
    assert status == 0, err
    assert [(tmp_path / line).read_bytes() for line in out.splitlines()] == [png_bytes(0)]

    status, out, err = await cli(
        "ask", "what is it?", "--image", str(image), "--model", "gpt-4o-mini"
    )
    assert (status, out.strip()) == (0, openai_fake.answer)

    openai_fake.fail("chat", "401")
    status, out, err = await cli("ask", "what is it?", "--model", "openai/gpt-4o-mini")
    assert status == 1
    assert err.splitlines()[-1] == "error: OpenAI: refused our API key (HTTP 401)"
    assert openai_fake.api_key not in out + err
