"""``python -m providers``: results never overwrite earlier ones, and --help shows defaults."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from providers import ProviderSettings
from providers.cli import parser, run
from tests.fakes.arta import FakeArta, png_bytes


@pytest.fixture
async def arta() -> AsyncIterator[FakeArta]:
    async with FakeArta() as fake:
        yield fake  # type: ignore[misc]


async def test_imagine_keeps_an_earlier_result_with_the_same_name(
    tmp_path: Path, arta: FakeArta
) -> None:
    settings = ProviderSettings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, poll_interval=0, **arta.overrides
    )
    target = tmp_path / "out"
    target.mkdir()
    (target / "a-fox-1.png").write_bytes(b"an earlier picture")
    (target / "a-fox-1-1.png").write_bytes(b"another one")
    out = io.StringIO()
    status = await run(["imagine", "a fox", "-o", str(target)], settings, out)
    assert status == 0
    [written] = [Path(line) for line in out.getvalue().splitlines()]
    assert written == target / "a-fox-1-2.png"
    assert written.read_bytes() == png_bytes(0)
    assert (target / "a-fox-1.png").read_bytes() == b"an earlier picture"
    assert (target / "a-fox-1-1.png").read_bytes() == b"another one"


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("imagine", ["(default: arta/flux)", "(default: 1)", "(default: out)"]),
        ("ask", ["(default: dynaspark/gemini-1.5-flash)"]),
        ("edit", ["(default: 1)", "(default: out)", "unset: the first edit model"]),
        ("check", ["(default: "]),
    ],
)
def test_each_command_help_shows_the_defaults(
    command: str, shown: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps long lines
    for default in shown:
        assert default in text, text
    assert "(default: None)" not in text
