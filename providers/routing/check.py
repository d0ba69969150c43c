"""``python -m providers check``: one small real request to each provider's default models."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from providers.core.errors import ProviderError
from providers.core.provider import Kind, ProviderContext
from providers.core.types import ImageRequest, ImageResponse, Media, TextResponse
from providers.routing.api import ask_vision, generate_images
from providers.routing.registry import ModelEntry, Registry

PROBE_PROMPT = "a small red circle on a white background"
PROBE_QUESTION = "What colour is this picture? Answer in one word."
PROBE_INSTRUCTION = "make the square blue"


@dataclass(frozen=True)
class Probe:
    """How one model answered its probe: ``problem`` is empty when it worked."""

    entry: ModelEntry
    seconds: float
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def probe_image(side: int = 16) -> Media:
    """A small red square PNG for the vision and edit probes."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (220, 30, 30)).save(buffer, format="PNG")
    return Media(buffer.getvalue(), "red.png", "image/png")


def probe_request(kind: Kind) -> ImageRequest:
    """The small job an image model (a prompt) or an edit model (a red square) is probed with."""
    if kind == Kind.EDIT:
        return ImageRequest(PROBE_INSTRUCTION, images=(probe_image(64),))
    return ImageRequest(PROBE_PROMPT)


def probed_models(registry: Registry) -> list[ModelEntry]:
    """Each provider's default model of each kind it offers, in registry order."""
    found = (registry.default_of(p, kind) for p in registry.providers for kind in Kind)
    return [entry for entry in found if entry is not None]


async def probe(entry: ModelEntry, context: ProviderContext, until: float | None = None) -> Probe:
    """Runs one small job on ``entry`` (it must end with a result within the job deadline, and
    before ``until``, a loop time, when given)."""
    began = time.monotonic()
    try:
        if entry.kind == Kind.VISION:
            events = ask_vision(entry, PROBE_QUESTION, [probe_image()], context, until)
            wanted: type[ImageResponse | TextResponse] = TextResponse
        else:
            events = generate_images(entry, probe_request(entry.kind), context, until)
            wanted = ImageResponse
        async with contextlib.aclosing(events):  # frees the provider's slot at once
            async for event in events:
                if isinstance(event, wanted):
                    return Probe(entry, time.monotonic() - began)
        problem = "finished without a result"
    except ProviderError as error:
        problem = error.user_message
    return Probe(entry, time.monotonic() - began, problem)


async def check(
    registry: Registry, context: ProviderContext, also: Sequence[ModelEntry] = ()
) -> list[Probe]:
    """Probes every provider's default models, and the models in ``also``, at once."""
    entries = probed_models(registry)
    entries += [entry for entry in also if entry not in entries]
    return list(await asyncio.gather(*(probe(e, context) for e in entries)))


async def first_answering(
    entries: Sequence[ModelEntry], context: ProviderContext, until: float | None = None
) -> tuple[Probe | None, list[Probe]]:
    """Probes ``entries`` at once: the first of them (in their order) that answered, or None,
    and every probe."""
    probes = list(await asyncio.gather(*(probe(e, context, until) for e in entries)))
    return next((item for item in probes if item.ok), None), probes


def table(probes: Sequence[Probe], defaults: Sequence[str]) -> str:
    """The probes as a text table; ``*`` marks the bot's default models."""
    rows = [("", "provider", "kind", "model", "result")]
    for item in probes:
        result = f"ok in {item.seconds:.1f} s" if item.ok else f"FAILED: {item.problem}"
        mark = "*" if item.entry.id in defaults else ""
        rows.append((mark, item.entry.provider.label, item.entry.kind.value, item.entry.id, result))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    )
