"""Picture sizes from aspect ratios: the nearest allowed size, or W x H near one megapixel."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

Size = tuple[int, int]

STANDARD_RATIOS: tuple[str, ...] = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9")
"""The aspect ratios a model that takes any width and height offers (as the seeds do)."""

ONE_MEGAPIXEL = 1024 * 1024
_RATIO_TOLERANCE = 0.03  # 1792x1024 (1.75) still counts as 16:9 (1.78)


def ratio_value(ratio: str) -> float:
    """``"16:9"`` -> 1.777...; ValueError for anything that is not ``W:H`` with W, H > 0."""
    match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", ratio)
    if not match or not int(match[1]) or not int(match[2]):
        raise ValueError(f"not an aspect ratio: {ratio!r}")
    return int(match[1]) / int(match[2])


def parse_size(size: str) -> Size:
    """``"1024x1536"`` -> (1024, 1536); ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", size)
    if not match or not int(match[1]) or not int(match[2]):
        raise ValueError(f"not a size (WxH): {size!r}")
    return int(match[1]), int(match[2])


def format_size(size: Size) -> str:
    """(1024, 1536) -> ``"1024x1536"``."""
    return f"{size[0]}x{size[1]}"


def near_megapixel(aspect_ratio: str | None, multiple: int = 64) -> Size:
    """Width and height in multiples of ``multiple`` with about one megapixel in ``aspect_ratio``
    (1:1 when None): 1:1 -> 1024x1024, 16:9 -> 1344x768, 2:3 -> 832x1280."""
    ratio = ratio_value(aspect_ratio or "1:1")
    width = math.sqrt(ONE_MEGAPIXEL * ratio)
    height = math.sqrt(ONE_MEGAPIXEL / ratio)
    return (
        max(multiple, round(width / multiple) * multiple),
        max(multiple, round(height / multiple) * multiple),
    )


def closest_size(sizes: Sequence[Size], aspect_ratio: str | None) -> Size:
    """The size whose shape is nearest ``aspect_ratio`` (1:1 when None); among equals, the
    largest. ``sizes`` must not be empty."""
    wanted = math.log(ratio_value(aspect_ratio or "1:1"))
    return min(sizes, key=lambda s: (round(abs(math.log(s[0] / s[1]) - wanted), 6), -s[0] * s[1]))


def ratio_name(size: Size) -> str:
    """The standard aspect ratio a size shows (within 3%), else its exact reduced ratio:
    1792x1024 -> ``"16:9"``, 1000x300 -> ``"10:3"``."""
    shape = size[0] / size[1]
    for name in STANDARD_RATIOS:
        if abs(shape / ratio_value(name) - 1) <= _RATIO_TOLERANCE:
            return name
    divisor = math.gcd(*size)
    return f"{size[0] // divisor}:{size[1] // divisor}"


def ratios_of(sizes: Sequence[Size]) -> tuple[str, ...]:
    """The aspect ratios ``sizes`` can honour, each once, square first."""
    names = dict.fromkeys(ratio_name(size) for size in sizes)
    return tuple(sorted(names, key=lambda name: name != "1:1"))
