"""``python -m providers edit``: pictures from files to an edit model, results saved like imagine's.

Most tests hand the CLI a small in-test provider (it only sees the library's surface); the last
ones run the openai type against its loopback fake. Each protocol type's own edit support is
tested against its fake in tests/providers/live.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from providers import (
    ErrorCode,
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Kind,
    Media,
    ModelSpec,
    Progress,
    Provider,
    ProviderContext,
    ProviderSettings,
    Registry,
    Stage,
    TextResponse,
)
from providers.cli import run
from providers.core.errors import ProviderUnavailable, Refused
from providers.routing.check import PROBE_INSTRUCTION
from tests.fakes.arta import png_bytes
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.pollinations import jpeg_bytes

KONTEXT = ImageOptions(max_images=2, min_pictures=1, max_pictures=3, strength=True)
SINGLE = ImageOptions(min_pictures=1, max_pictures=1, seed=False)


class Editor(Provider):
    """Changes pictures: answers each job with ``png_bytes(i)`` per wanted picture, or fails with
    the next queued error. Offers an image and a vision model first, so that the edit models
    are not the registry's first models."""

    def __init__(self, name: str = "editor") -> None:
        self.name, self.label = name, name.capitalize()
        self.jobs: list[tuple[str, ImageRequest]] = []
        self.failures: list[Exception] = []

    def offers(self) -> list[ModelSpec]:
        return [
            ModelSpec("draw", "up-draw", Kind.IMAGE, ImageOptions()),
            ModelSpec("see", "up-see", Kind.VISION),
            ModelSpec("kontext", "up-kontext", Kind.EDIT, KONTEXT),
            ModelSpec("single", "up-single", Kind.EDIT, SINGLE),
        ]

    async def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        self.jobs.append((upstream, request))
        yield Progress(Stage.GENERATING, f"{self.label} is changing the picture")
        if self.failures:
            raise self.failures.pop(0)
        pictures = [png_bytes(index) for index in range(request.n)]
        yield ImageResponse(pictures, request.prompt, seed=request.seed or 42, model=upstream)

    async def ask(
        self, upstream: str, question: str, media: Sequence[Media], context: ProviderContext
    ) -> EventStream:
        yield TextResponse("red", upstream)


def settings(tmp_path: Path) -> ProviderSettings:
    return ProviderSettings(_env_file=None, data_dir=tmp_path, poll_interval=0)  # type: ignore[call-arg]


def pictures(tmp_path: Path) -> tuple[Path, Path]:
    """A PNG and a JPEG whose names do not say what they are."""
    first, second = tmp_path / "first.dat", tmp_path / "second"
    first.write_bytes(png_bytes(7))
    second.write_bytes(jpeg_bytes(3))
    return first, second


async def test_edit_sends_the_files_as_they_are_and_saves_the_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    editor = Editor()
    first, second = pictures(tmp_path)
    target = tmp_path / "out"
    argv = ["edit", "Put them on a beach!", "--image", str(first), "--image", str(second)]
    argv += ["--model", "editor/kontext", "--n", "2", "--seed", "5", "--strength", "0.4"]
    out = io.StringIO()

    status = await run([*argv, "-o", str(target)], settings(tmp_path), out, Registry([editor]))

    assert status == 0
    [(upstream, request)] = editor.jobs
    assert upstream == "up-kontext"
    assert request == ImageRequest(
        "Put them on a beach!",
        n=2,
        seed=5,
        images=(
            Media(png_bytes(7), "first.dat", "image/png"),
            Media(jpeg_bytes(3), "second", "image/jpeg"),
        ),
        strength=0.4,
    )
    saved = [Path(line) for line in out.getvalue().splitlines()]
    assert saved == [target / "put-them-on-a-beach-1.png", target / "put-them-on-a-beach-2.png"]
    assert [path.read_bytes() for path in saved] == [png_bytes(0), png_bytes(1)]
    err = capsys.readouterr().err
    assert "[generating] Editor is changing the picture" in err
    assert "seed: 5" in err


async def test_an_earlier_result_is_never_overwritten(tmp_path: Path) -> None:
    first, _ = pictures(tmp_path)
    target = tmp_path / "out"
    target.mkdir()
    (target / "blue-1.png").write_bytes(b"an earlier picture")
    out = io.StringIO()
    argv = ["edit", "blue", "--image", str(first), "-o", str(target)]
    assert await run(argv, settings(tmp_path), out, Registry([Editor()])) == 0
    assert out.getvalue().splitlines() == [str(target / "blue-1-1.png")]
    assert (target / "blue-1.png").read_bytes() == b"an earlier picture"


async def test_without_model_the_first_edit_model_is_used_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    editor, other = Editor(), Editor("other")
    first, _ = pictures(tmp_path)
    argv = ["edit", "blue", "--image", str(first), "-o", str(tmp_path / "out")]
    assert await run(argv, settings(tmp_path), io.StringIO(), Registry([editor, other])) == 0
    assert [upstream for upstream, _ in editor.jobs] == ["up-kontext"]
    assert other.jobs == []
    assert "model: editor/kontext" in capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.png", None, "missing.png: cannot be read (No such file or directory)"),
        ("folder", b"", "folder: cannot be read (Is a directory)"),
        ("notes.png", b"not a picture at all", "notes.png: is not a picture (PNG, JPEG, WebP"),
        ("empty.png", b"", "empty.png: is not a picture"),
    ],
)
async def test_a_file_that_is_not_a_readable_picture_is_refused_before_anything_is_sent(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    problem: str,
) -> None:
    editor = Editor()
    first, _ = pictures(tmp_path)
    bad = tmp_path / name
    if name == "folder":
        bad.mkdir()
    elif content is not None:
        bad.write_bytes(content)
    argv = ["edit", "blue", "--image", str(first), "--image", str(bad)]

    assert await run(argv, settings(tmp_path), io.StringIO(), Registry([editor])) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {tmp_path}/")
    assert problem in line
    assert editor.jobs == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "editor/single"], "editor/single takes one picture at a time."),
        (["--image", "{0}", "--image", "{0}"], "editor/kontext takes 1 to 3 pictures at a time."),
        (["--strength", "1.5"], "Strength for editor/kontext must be between 0 and 1."),
        (["--n", "3"], "editor/kontext"),
        (["--model", "editor/draw"], "editor/draw is not an edit model."),
        (["--model", "draw"], "editor/draw is not an edit model."),
        (["--model", "nosuch"], "Unknown model"),
    ],
)
async def test_what_the_model_cannot_take_exits_2_with_its_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    editor = Editor()
    first, second = pictures(tmp_path)
    argv = ["edit", "blue", "--image", str(first), "--image", str(second)]
    argv += [word.format(first) for word in extra]

    assert await run(argv, settings(tmp_path), io.StringIO(), Registry([editor])) == 2

    [line] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert message in line
    assert editor.jobs == []


async def test_strength_on_a_model_that_does_not_take_it_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    editor = Editor()
    first, _ = pictures(tmp_path)
    argv = ["edit", "blue", "--image", str(first), "--model", "single", "--strength", "0.5"]
    assert await run(argv, settings(tmp_path), io.StringIO(), Registry([editor])) == 2
    assert capsys.readouterr().err == "error: editor/single does not take a strength.\n"
    assert editor.jobs == []


async def test_with_no_edit_model_configured_it_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = pictures(tmp_path)
    assert await run(["edit", "blue", "--image", str(first)], settings(tmp_path)) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: no provider offers an edit model: set one of OPENAI_API_KEY")
    assert "edit_models in providers.toml" in line


async def test_a_refusal_and_a_provider_failure_exit_1_with_their_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    editor = Editor()
    editor.failures += [
        Refused(ErrorCode.MODERATION_REASON, provider="Editor", reason="a real person"),
        ProviderUnavailable(ErrorCode.UNREACHABLE, provider="Editor"),
    ]
    first, _ = pictures(tmp_path)
    argv = ["edit", "blue", "--image", str(first), "-o", str(tmp_path / "out")]
    registry = Registry([editor])

    assert await run(argv, settings(tmp_path), io.StringIO(), registry) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: Editor: refused this request (its moderation flagged it: a real person)"
    )
    assert await run(argv, settings(tmp_path), io.StringIO(), registry) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: Editor")
    assert not (tmp_path / "out").exists()


async def test_models_lists_edit_models_with_their_kind(tmp_path: Path) -> None:
    registry = Registry([Editor()])
    out = io.StringIO()
    assert await run(["models"], settings(tmp_path), out, registry) == 0
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert ["editor/kontext", "edit", "up-kontext"] in rows
    assert ["editor/draw", "image", "up-draw"] in rows

    out = io.StringIO()
    assert await run(["models", "--kind", "edit"], settings(tmp_path), out, registry) == 0
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert rows == [
        ["editor/kontext", "edit", "up-kontext"],
        ["editor/single", "edit", "up-single"],
    ]


class Plain(Editor):
    """A provider with no edit model."""

    def offers(self) -> list[ModelSpec]:
        return [spec for spec in super().offers() if spec.kind != Kind.EDIT]


class EditOnly(Editor):
    """A provider that only edits (as a gradio entry with nothing but edit_models)."""

    def offers(self) -> list[ModelSpec]:
        return [spec for spec in super().offers() if spec.kind == Kind.EDIT]


def table_rows(text: str) -> dict[str, list[str]]:
    """The check table's rows by model id: mark (or ""), provider, kind, result words."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines()[1:]:
        words = line.split()
        mark = words.pop(0) if words[0] == "*" else ""
        provider, kind, model, *result = words
        rows[model] = [mark, provider, kind, *result]
    return rows


CHECK = ["check", "--image-default", "editor/draw", "--vision-default", "editor/see"]


async def test_check_probes_edit_models_with_a_picture(tmp_path: Path) -> None:
    editor, only = Editor(), EditOnly("onlyedit")
    out = io.StringIO()

    assert await run(CHECK, settings(tmp_path), out, Registry([editor, only])) == 0

    rows = table_rows(out.getvalue())
    assert rows["editor/kontext"][:4] == ["*", "Editor", "edit", "ok"]  # the first edit model
    assert rows["onlyedit/kontext"][:4] == ["", "Onlyedit", "edit", "ok"]
    assert "editor/single" not in rows  # one model of each kind per provider
    for provider in (editor, only):
        [probe] = [request for upstream, request in provider.jobs if upstream == "up-kontext"]
        assert probe.prompt == PROBE_INSTRUCTION
        [picture] = probe.images
        assert picture.content_type == "image/png" and picture.data.startswith(b"\x89PNG")


async def test_check_fails_when_the_default_edit_model_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    editor, only = Editor(), EditOnly("onlyedit")
    only.failures.append(ProviderUnavailable(ErrorCode.UNREACHABLE, provider="Onlyedit"))
    out = io.StringIO()
    argv = [*CHECK, "--edit-default", "onlyedit/kontext"]

    assert await run(argv, settings(tmp_path), out, Registry([editor, only])) == 1

    rows = table_rows(out.getvalue())
    assert rows["onlyedit/kontext"][:4] == ["*", "Onlyedit", "edit", "FAILED:"]
    assert rows["editor/kontext"][:4] == ["", "Editor", "edit", "ok"]
    assert "default onlyedit/kontext is down" in capsys.readouterr().err.splitlines()


async def test_check_without_edit_models_checks_no_edit_default(tmp_path: Path) -> None:
    out = io.StringIO()
    registry = Registry([Plain()])
    assert await run(CHECK, settings(tmp_path), out, registry) == 0
    assert all(row[2] != "edit" for row in table_rows(out.getvalue()).values())


# -- against the OpenAI fake, through the openai type's images/edits ---------------------------


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake  # type: ignore[misc]


def openai_settings(tmp_path: Path, fake: FakeOpenAI) -> ProviderSettings:
    dead = "http://127.0.0.1:9"  # the seeds: checked, never reached
    return ProviderSettings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        openai_api_key=fake.api_key,  # type: ignore[arg-type]
        openai_base_url=fake.base_url,
        arta_api_url=dead,
        prodia_api_url=dead,
        sd35_space_url=dead,
        dynaspark_api_url=dead,
    )


async def test_edit_with_openai_uploads_the_pictures_in_order(
    tmp_path: Path, openai_fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = pictures(tmp_path)
    out = io.StringIO()
    argv = ["edit", "make it blue", "--image", str(first), "--image", str(second)]

    status = await run(
        [*argv, "-o", str(tmp_path / "out")], openai_settings(tmp_path, openai_fake), out
    )

    assert status == 0, capsys.readouterr().err
    [call] = openai_fake.edit_calls
    assert (call.fields["model"], call.fields["prompt"]) == ("gpt-image-2", "make it blue")
    assert [(p.value, p.content_type) for p in call.pictures] == [
        (png_bytes(7), "image/png"),
        (jpeg_bytes(3), "image/jpeg"),
    ]
    [saved] = [Path(line) for line in out.getvalue().splitlines()]
    assert saved.name == "make-it-blue-1.png" and saved.read_bytes().startswith(b"\x89PNG")
    assert "model: openai/gpt-image-2" in capsys.readouterr().err
    assert openai_fake.api_key is not None and openai_fake.api_key not in out.getvalue()


async def test_check_probes_the_openai_edit_model_through_images_edits(
    tmp_path: Path, openai_fake: FakeOpenAI
) -> None:
    out = io.StringIO()
    argv = ["check", "--image-default", "openai/gpt-image-1", "--vision-default", "gpt-4o-mini"]

    assert await run(argv, openai_settings(tmp_path, openai_fake), out) == 0

    assert table_rows(out.getvalue())["openai/gpt-image-2"][:4] == ["*", "OpenAI", "edit", "ok"]
    [call] = openai_fake.edit_calls
    assert call.fields["prompt"] == PROBE_INSTRUCTION
    assert [p.content_type for p in call.pictures] == ["image/png"]
