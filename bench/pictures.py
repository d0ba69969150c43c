"""What normalising a phone photo for an edit model costs (bot/pictures/intake.py).

    .venv/bin/python -m bench.pictures            # 20 runs of each variant
    .venv/bin/python -m bench.pictures --runs 50

The picture is a 12-megapixel JPEG of about 2 MB stored on its side with EXIF orientation 6, as
phones write them, with noise so that it does not compress away. It is fitted to OpenAI-like
limits (PNG/JPEG/WebP, 2048 px, 10 MB) ``--runs`` times per variant: as shipped (a JPEG may be
decoded at half scale when that keeps 90% of the longest side) and exact (decoded whole unless
the reduced scale loses nothing). Prints CPU time per picture (median, p95) and the process's
peak RSS during the runs (the photo is made in a child process). Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import resource
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import ExifTags, Image

from bot.pictures import intake
from providers.core.types import PictureLimits

OPENAI_LIKE = PictureLimits(("image/png", "image/jpeg", "image/webp"), 2048, 10 * 1024 * 1024)
WIDTH, HEIGHT = 4032, 3024  # a 12-megapixel phone sensor, stored landscape
TARGET_BYTES = 2 * 1024 * 1024
MB = 1024 * 1024


def phone_photo() -> bytes:
    """A ~2 MB 12-megapixel JPEG with EXIF orientation 6 (shown portrait)."""
    noise = Image.effect_noise((WIDTH, HEIGHT), 40).convert("RGB")
    scene = Image.linear_gradient("L").resize((WIDTH, HEIGHT)).convert("RGB")
    picture = Image.blend(scene, noise, 0.15)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    best = b""
    for quality in (75, 80, 85, 90):  # the one closest to a typical phone file's size
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=quality, exif=exif)
        if not best or abs(buffer.tell() - TARGET_BYTES) < abs(len(best) - TARGET_BYTES):
            best = buffer.getvalue()
    return best


def rss_mb(field: str) -> float:
    """A /proc/self/status memory figure (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Starts the peak RSS afresh (Linux 4.0+); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def draft_slack(value: float) -> Iterator[None]:
    saved = intake.DRAFT_SLACK
    intake.DRAFT_SLACK = value
    try:
        yield
    finally:
        intake.DRAFT_SLACK = saved


def measure(name: str, data: bytes, runs: int) -> None:
    """Fits ``data`` ``runs`` times and prints CPU ms per picture and the peak RSS."""
    fitted = intake.fit_picture(data, OPENAI_LIKE)  # warm-up: imports, plugin registration
    with Image.open(io.BytesIO(fitted.media.data)) as result:
        size = result.size
    fresh = reset_peak_rss()
    before = rss_mb("VmRSS")
    cpu_ms = []
    for _ in range(runs):
        start = time.process_time()
        intake.fit_picture(data, OPENAI_LIKE)
        cpu_ms.append((time.process_time() - start) * 1000)
    p95 = statistics.quantiles(cpu_ms, n=20, method="inclusive")[18]
    peak = f"{rss_mb('VmHWM'):.0f} MB" if fresh else f"{rss_mb('VmHWM'):.0f} MB (since start)"
    print(
        f"{name:<8} -> {size[0]}x{size[1]} {fitted.media.content_type}, "
        f"{len(fitted.media.data) / MB:.2f} MB | CPU per picture: median "
        f"{statistics.median(cpu_ms):.0f} ms, p95 {p95:.0f} ms | RSS {before:.0f} MB before, "
        f"peak {peak}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="fits per variant (default 20)")
    args = parser.parse_args()
    runs = max(2, args.runs)
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # its pixels stay out of our RSS
        data = pool.apply(phone_photo)
    with Image.open(io.BytesIO(data)) as source:
        width, height = source.size
    print(
        f"source: {width}x{height} JPEG, {len(data) / MB:.2f} MB, EXIF orientation 6; limits: "
        f"{', '.join(OPENAI_LIKE.types)}, {OPENAI_LIKE.max_side} px, "
        f"{OPENAI_LIKE.max_bytes // MB} MB; {runs} runs each"
    )
    measure("shipped", data, runs)
    with draft_slack(1.0):
        measure("exact", data, runs)


if __name__ == "__main__":
    main()
