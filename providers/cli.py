"""``python -m providers``: check every provider from an operator's own network, no Telegram."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from providers import (
    ErrorCode,
    ImagePreview,
    ImageRequest,
    ImageResponse,
    InvalidOption,
    Kind,
    Media,
    ModelEntry,
    Progress,
    ProviderContext,
    ProviderError,
    ProviderSettings,
    Registry,
    TextResponse,
    UnknownModel,
    ask_vision,
    generate_images,
)
from providers.core.entry import ConfigError
from providers.core.media import image_extension, sniff_image_type
from providers.routing.check import check, table
from providers.routing.config import SHORTCUT_KEYS, build_registry


class UsageError(Exception):
    """The command cannot be carried out as typed (exit status 2); ``str()`` is one line."""


class HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none (the model decides)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m providers", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help, description=help, formatter_class=HelpWithDefaults
        )

    models = command("models", "list every model id")
    models.add_argument("--kind", choices=[k.value for k in Kind], help="only this kind")

    imagine = command("imagine", "generate images and save them")
    imagine.add_argument("prompt", help="what to draw")
    imagine.add_argument("--model", default="arta/flux", help="model id (see: models)")
    imagine.add_argument("--n", type=int, default=1, help="how many pictures")
    imagine.add_argument("--ar", dest="aspect_ratio", help="aspect ratio such as 16:9")
    imagine.add_argument("--seed", type=int, help="seed, for a repeatable picture")
    imagine.add_argument("--no", dest="negative_prompt", help="what not to draw")
    imagine.add_argument("--steps", type=int, help="sampling steps")
    imagine.add_argument("--cfg", type=float, help="guidance scale")
    imagine.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("out"),
        help="folder for the pictures (an existing file is never overwritten)",
    )

    edit = command("edit", "change, restyle or combine pictures and save the results")
    edit.add_argument("instruction", help="what to change")
    edit.add_argument(
        "--image",
        dest="images",
        type=Path,
        action="append",
        required=True,
        metavar="PATH",
        help="a picture to edit (PNG, JPEG, WebP or GIF); repeat for several, in order",
    )
    edit.add_argument(
        "--model", help="edit model id (see: models --kind edit); unset: the first edit model"
    )
    edit.add_argument("--n", type=int, default=1, help="how many pictures")
    edit.add_argument("--seed", type=int, help="seed, for a repeatable picture")
    edit.add_argument(
        "--strength", type=float, help="how far the result may move from the pictures, 0-1"
    )
    edit.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("out"),
        help="folder for the pictures (an existing file is never overwritten)",
    )

    ask = command("ask", "ask a vision model about an image")
    ask.add_argument("question", help="the question")
    ask.add_argument("--image", type=Path, help="the image file to ask about")
    ask.add_argument("--model", default="dynaspark/gemini-1.5-flash", help="model id")

    check = command("check", "one small real request to each provider's default models")
    check.add_argument(
        "--image-default",
        default=os.environ.get("DEFAULT_IMAGE_MODEL", "arta/flux"),
        help="the bot's default image model (DEFAULT_IMAGE_MODEL)",
    )
    check.add_argument(
        "--vision-default",
        default=os.environ.get("DEFAULT_VISION_MODEL", "dynaspark/gemini-1.5-flash"),
        help="the bot's default vision model (DEFAULT_VISION_MODEL)",
    )
    check.add_argument(
        "--edit-default",
        default=os.environ.get("DEFAULT_EDIT_MODEL") or None,
        help="the bot's default edit model (DEFAULT_EDIT_MODEL; unset: the first edit model)",
    )
    return root


async def run(
    argv: Sequence[str],
    settings: ProviderSettings | None = None,
    out: TextIO = sys.stdout,
    registry: Registry | None = None,
) -> int:
    """Runs one CLI command; returns the exit status (1: provider failure, 2: bad input).

    ``registry`` replaces the one the settings configure (tests hand in their own providers).
    """
    args = parser().parse_args(argv)
    settings = settings or ProviderSettings()
    try:
        registry = build_registry(settings) if registry is None else registry
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "models":
        kind = Kind(args.kind) if args.kind else None
        for entry in registry.entries:
            if kind is None or entry.kind == kind:
                print(f"{entry.id:40} {entry.kind.value:7} {entry.upstream}", file=out)
        return 0
    context = ProviderContext.from_settings(settings)
    try:
        if args.command == "check":
            return await _check(registry, args, context, out)
        if args.command == "imagine":
            return await _imagine(registry, args, context, out)
        if args.command == "edit":
            return await _edit(registry, args, context, out)
        return await _ask(registry, args, context, out)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (UnknownModel, InvalidOption) as error:
        print(f"error: {error.user_message}", file=sys.stderr)
        return 2
    except ProviderError as error:
        print(f"error: {error.user_message}", file=sys.stderr)
        return 1
    finally:
        await context.close()


async def _imagine(
    registry: Registry, args: argparse.Namespace, context: ProviderContext, out: TextIO
) -> int:
    entry = registry.resolve(args.model, Kind.IMAGE)
    request = ImageRequest(
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        n=args.n,
        seed=args.seed,
        aspect_ratio=args.aspect_ratio,
        steps=args.steps,
        cfg=args.cfg,
    )
    await _draw(entry, request, context, args.output, out)
    return 0


async def _edit(
    registry: Registry, args: argparse.Namespace, context: ProviderContext, out: TextIO
) -> int:
    pictures = tuple(read_picture(path) for path in args.images)
    entry = edit_model(registry, args.model)
    if args.model is None:
        print(f"model: {entry.id}", file=sys.stderr)
    request = ImageRequest(
        prompt=args.instruction,
        n=args.n,
        seed=args.seed,
        images=pictures,
        strength=args.strength,
    )
    await _draw(entry, request, context, args.output, out)
    return 0


def read_picture(path: Path) -> Media:
    """The file's bytes as they are, with their sniffed type; UsageError (one line naming the
    file) when it cannot be read or is not a PNG, JPEG, WebP or GIF picture."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot be read ({error.strerror or error})") from None
    content_type = sniff_image_type(data)
    if content_type is None:
        raise UsageError(f"{path}: is not a picture (PNG, JPEG, WebP or GIF)")
    return Media(data, path.name, content_type)


def edit_model(registry: Registry, name: str | None) -> ModelEntry:
    """The edit model ``name`` names, or the registry's first edit model when it is None.

    Raises UnknownModel, InvalidOption (NOT_EDIT_MODEL) for a model of another kind, or
    UsageError when no provider offers an edit model at all."""
    if name is None:
        offered = registry.entries_of(Kind.EDIT)
        if not offered:
            keys = ", ".join(SHORTCUT_KEYS.values())
            raise UsageError(
                f"no provider offers an edit model: set one of {keys}, "
                "or list edit_models in providers.toml"
            )
        return offered[0]
    try:
        return registry.resolve(name, Kind.EDIT)
    except UnknownModel as unknown:
        try:
            other = registry.resolve(name)
        except UnknownModel:
            raise unknown from None
        raise InvalidOption(ErrorCode.NOT_EDIT_MODEL, model=other.id) from None


async def _draw(
    entry: ModelEntry, request: ImageRequest, context: ProviderContext, output: Path, out: TextIO
) -> None:
    """Runs the job, printing progress to stderr and each saved file's path to ``out``."""
    async for event in generate_images(entry, request, context):
        if isinstance(event, Progress):
            print(f"[{event.stage.value}] {event.label}", file=sys.stderr)
        elif isinstance(event, ImagePreview):
            print("[preview]", file=sys.stderr)
        elif isinstance(event, ImageResponse):
            for index, image in enumerate(event.images, start=1):
                data = (
                    image
                    if isinstance(image, bytes)
                    else await context.http.read(image, provider=entry.provider.label)
                )
                print(save_picture(output, request.prompt, index, data), file=out)
            print(f"seed: {event.seed}", file=sys.stderr)


def save_picture(output: Path, prompt: str, index: int, data: bytes) -> Path:
    """Saves the ``index``-th picture in ``output`` (made when missing) as
    ``<prompt words>-<index>.<type>``, never over an existing file; returns the path written."""
    output.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:40] or "image"
    return save_new(output / f"{stem}-{index}{image_extension(sniff_image_type(data))}", data)


def save_new(path: Path, data: bytes) -> Path:
    """Writes ``data`` to ``path``, or to ``name-1.png``, ``name-2.png``... next to it when that
    file exists (never overwriting an earlier result); returns the path written."""
    candidate, number = path, 0
    while True:
        try:
            with candidate.open("xb") as file:  # "x": fails if the file exists, even in a race
                file.write(data)
            return candidate
        except FileExistsError:
            number += 1
            candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")


async def _ask(
    registry: Registry, args: argparse.Namespace, context: ProviderContext, out: TextIO
) -> int:
    entry = registry.resolve(args.model, Kind.VISION)
    media = []
    if args.image is not None:
        data = args.image.read_bytes()
        media.append(Media(data, args.image.name, sniff_image_type(data)))
    async for event in ask_vision(entry, args.question, media, context):
        if isinstance(event, TextResponse):
            print(event.text, file=out)
    return 0


async def _check(
    registry: Registry, args: argparse.Namespace, context: ProviderContext, out: TextIO
) -> int:
    """Prints the probe table; 1 when a default model failed or is not offered."""
    defaults: list[str] = []
    wanted = []
    named = [(args.image_default, Kind.IMAGE), (args.vision_default, Kind.VISION)]
    edit_default = args.edit_default or next(
        (entry.id for entry in registry.entries_of(Kind.EDIT)), None
    )
    if edit_default is not None:  # no edit model anywhere: the bot edits nothing to check
        named.append((edit_default, Kind.EDIT))
    for name, kind in named:
        try:
            entry = registry.resolve(name, kind)
        except UnknownModel as error:
            why = registry.why_not_offered(name)
            print(f"default {name} cannot be checked: {why or error}", file=sys.stderr)
            defaults.append(name)
            continue
        defaults.append(entry.id)
        wanted.append(entry)
    probes = await check(registry, context, wanted)
    print(table(probes, defaults), file=out)
    for failed in (p for p in probes if p.entry.id in defaults and not p.ok):
        print(f"default {failed.entry.id} is down", file=sys.stderr)
    working = {p.entry.id for p in probes if p.ok}
    return 0 if all(model in working for model in defaults) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    try:
        return asyncio.run(run(sys.argv[1:] if argv is None else argv))
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
