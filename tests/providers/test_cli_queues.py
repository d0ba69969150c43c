"""``python -m providers imagine`` with fal and Replicate, run in-process against the fakes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from providers import ProviderSettings
from providers.cli import run
from tests.fakes.fal import FakeFal
from tests.fakes.prodia import png_bytes
from tests.fakes.replicate import FakeReplicate

FAL_KEY = "fal-cli-secret-key-77"
TOKEN = "r8_cli_secret_token_77"


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    async with FakeFal(key=FAL_KEY) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def replicate() -> AsyncIterator[FakeReplicate]:
    async with FakeReplicate(token=TOKEN) as fake:
        yield fake  # type: ignore[misc]


def settings(tmp_path: Path, **values: str) -> ProviderSettings:
    return ProviderSettings(_env_file=None, data_dir=tmp_path, poll_interval=0, **values)  # type: ignore[call-arg, arg-type]


async def test_imagine_with_fal_saves_the_pictures_and_shows_the_queue(
    tmp_path: Path, fal: FakeFal, capsys: pytest.CaptureFixture[str]
) -> None:
    out, target = io.StringIO(), tmp_path / "out"
    status = await run(
        ["imagine", "a fox", "--model", "fal/flux-schnell", "--n", "2", "-o", str(target)],
        settings(tmp_path, fal_key=FAL_KEY, fal_queue_url=fal.url),
        out,
    )
    assert status == 0
    saved = [Path(line) for line in out.getvalue().splitlines()]
    assert [p.name for p in saved] == ["a-fox-1.png", "a-fox-2.png"]
    assert [p.read_bytes() for p in saved] == [png_bytes(2, 2), png_bytes(3, 2)]
    err = capsys.readouterr().err
    assert "[queued] #3 in fal's queue" in err and "[generating] fal is drawing" in err
    assert "seed: 424242" in err
    assert FAL_KEY not in err + out.getvalue()


async def test_imagine_with_replicate_saves_the_picture(
    tmp_path: Path, replicate: FakeReplicate, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    status = await run(
        [
            "imagine",
            "a fox",
            "--model",
            "replicate/flux-schnell",
            "--ar",
            "16:9",
            "-o",
            str(tmp_path),
        ],
        settings(tmp_path, replicate_api_token=TOKEN, replicate_api_url=replicate.api),
        out,
    )
    assert status == 0
    [saved] = [Path(line) for line in out.getvalue().splitlines()]
    assert saved.read_bytes() == png_bytes(3, 3)
    assert replicate.creations[0][1]["input"]["aspect_ratio"] == "16:9"
    assert TOKEN not in capsys.readouterr().err


@pytest.mark.parametrize(("status", "words"), [(401, "refused our credentials"), (403, "credit")])
async def test_a_failing_fal_exits_1_with_a_reason_and_no_key(
    tmp_path: Path,
    fal: FakeFal,
    capsys: pytest.CaptureFixture[str],
    status: int,
    words: str,
) -> None:
    fal.submit_status = status
    code = await run(
        ["imagine", "a fox", "--model", "fal/flux-schnell", "-o", str(tmp_path)],
        settings(tmp_path, fal_key=FAL_KEY, fal_queue_url=fal.url),
        io.StringIO(),
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: fal: ") and words in err
    assert FAL_KEY not in err


async def test_without_a_token_replicate_is_not_offered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    assert await run(["models"], settings(tmp_path, fal_key=FAL_KEY), out) == 0
    ids = [line.split()[0] for line in out.getvalue().splitlines()]
    assert {"fal/flux-schnell", "fal/flux-dev"} <= set(ids)
    assert not [i for i in ids if i.startswith("replicate/")]
    code = await run(["imagine", "fox", "--model", "replicate/flux-schnell"], settings(tmp_path))
    assert code == 2 and "Unknown model" in capsys.readouterr().err
