"""The operator's CLI, run in-process against the loopback fakes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from providers import ProviderSettings
from providers.cli import run
from tests.fakes.arta import FakeArta, png_bytes
from tests.fakes.dynaspark import FakeDynaspark


@pytest.fixture
async def arta() -> AsyncIterator[FakeArta]:
    async with FakeArta() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def dynaspark() -> AsyncIterator[FakeDynaspark]:
    async with FakeDynaspark() as fake:
        yield fake  # type: ignore[misc]


def settings(tmp_path: Path, **urls: str) -> ProviderSettings:
    return ProviderSettings(_env_file=None, data_dir=tmp_path, poll_interval=0, **urls)  # type: ignore[call-arg, arg-type]


async def test_models_lists_every_kind(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run(["models"], settings(tmp_path), out) == 0
    ids = [line.split()[0] for line in out.getvalue().splitlines()]
    assert {"arta/flux", "prodia/absolutereality_v181", "sd35/sd-3.5"} <= set(ids)
    assert "dynaspark/gemini-1.5-flash" in ids

    out = io.StringIO()
    await run(["models", "--kind", "vision"], settings(tmp_path), out)
    assert all(line.startswith("dynaspark/") for line in out.getvalue().splitlines())


async def test_imagine_saves_the_upstream_images(tmp_path: Path, arta: FakeArta) -> None:
    out = io.StringIO()
    target = tmp_path / "out"
    status = await run(
        ["imagine", "a fox", "--model", "arta/flux", "--n", "2", "-o", str(target)],
        settings(tmp_path, **arta.overrides),
        out,
    )
    assert status == 0
    saved = [Path(line) for line in out.getvalue().splitlines()]
    assert [p.name for p in saved] == ["a-fox-1.png", "a-fox-2.png"]
    assert [p.read_bytes() for p in saved] == [png_bytes(0), png_bytes(1)]
    assert arta.job_list[0].form["images_num"] == "2"


async def test_ask_sends_the_image_and_prints_the_answer(
    tmp_path: Path, dynaspark: FakeDynaspark
) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(png_bytes(2))
    out = io.StringIO()
    status = await run(
        ["ask", "what is this?", "--image", str(image)],
        settings(tmp_path, dynaspark_api_url=dynaspark.url),
        out,
    )
    assert status == 0
    assert out.getvalue().strip() == dynaspark.answer
    part = dynaspark.submissions[0].file
    assert part is not None and part.value == png_bytes(2)


async def test_bad_input_and_provider_failures_have_distinct_exit_codes(
    tmp_path: Path, arta: FakeArta, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["imagine", "fox", "--model", "nope"], settings(tmp_path)) == 2
    assert "Unknown model" in capsys.readouterr().err
    arta.fail("generate", "500")
    assert await run(["imagine", "fox"], settings(tmp_path, **arta.overrides)) == 1
    assert "ARTA" in capsys.readouterr().err


async def test_check_probes_each_provider_and_fails_when_a_default_is_down(
    tmp_path: Path, arta: FakeArta, dynaspark: FakeDynaspark, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = "http://127.0.0.1:9"
    urls = {
        **arta.overrides,
        "dynaspark_api_url": dynaspark.url,
        "prodia_api_url": dead,
        "sd35_space_url": dead,
    }
    out = io.StringIO()
    assert await run(["check"], settings(tmp_path, **urls), out) == 0
    table = out.getvalue()
    assert "*  ARTA" in table and "arta/flux" in table
    assert "*  Dynaspark" in table and "dynaspark/gemini-1.5-flash" in table
    prodia = next(line for line in table.splitlines() if "Prodia" in line)
    assert "FAILED: Prodia: cannot be reached right now" in prodia
    assert all("ok in" in line for line in table.splitlines() if line.startswith("*"))
    assert len(arta.job_list) == 1 and len(dynaspark.submissions) == 1

    arta.fail("generate", "500")
    out = io.StringIO()
    assert await run(["check"], settings(tmp_path, **urls), out) == 1
    assert "default arta/flux is down" in capsys.readouterr().err


async def test_check_fails_when_the_default_provider_is_not_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = "http://127.0.0.1:9"
    urls = {"arta_api_url": dead, "prodia_api_url": dead, "sd35_space_url": dead}
    status = await run(
        ["check", "--image-default", "fal/flux-dev", "--vision-default", "nosuch/x"],
        settings(tmp_path, dynaspark_api_url=dead, **urls),
        io.StringIO(),
    )
    assert status == 1
    err = capsys.readouterr().err
    assert "default fal/flux-dev cannot be checked: FAL_KEY is not set" in err
    assert "default nosuch/x cannot be checked: Unknown model" in err
