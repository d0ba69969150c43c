"""The pieces of ``make bench``'s edits scenario (bench/run.py runs it): an OpenAI-like edit
upstream that takes a fixed time per picture and notes what it was sent, an emulator that
makes a photo's smaller sizes once per distinct photo, and what downloading and normalising
one phone photo costs the bot in CPU.

The photo is bench/pictures.py's: a ~2 MB 12-megapixel JPEG stored on its side with EXIF
orientation 6, as phones write them.
"""

from __future__ import annotations

import asyncio
import base64
import io
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from aiohttp import BodyPartReader, web
from PIL import ExifTags, Image

from bot.i18n import translator
from bot.jobs.photos import PhotoRef, download_image
from bot.pictures.intake import fit_picture
from bot.startup import telegram_bot
from providers.live.openai.edits import picture_limits
from tests.fakes.telegram import BotApiEmulator

EDIT_MODEL = "gpt-image-2"
"""The upstream model the bot edits with (OPENAI_EDIT_MODELS' default)."""
API_KEY = "sk-bench-not-a-real-key"
MB = 1024 * 1024


def small_png() -> bytes:
    """The edited picture the fake answers with: a small blue PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (60, 60, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class EditCall:
    """One ``images/edits`` request: its instruction and what its first picture was."""

    prompt: str
    model: str
    width: int
    height: int
    content_type: str
    size: int
    orientation: int | None  # the picture's EXIF orientation, None when it has none
    pictures: int
    done: float | None = None  # when it was answered (monotonic seconds)

    @property
    def upright(self) -> bool:
        """Portrait as stored, with no EXIF turn left for the upstream to apply."""
        return self.width < self.height and self.orientation in (None, 1)


class TimedEdits:
    """An OpenAI-like edit upstream: ``POST /v1/images/edits`` (``multipart/form-data`` with
    ``model``, ``prompt`` and ``image[]`` parts) answers ``seconds`` after the request came in
    with ``{"data": [{"b64_json": <small PNG>}]}``. Anything else is a 404; a request without
    the key, a prompt, a model or a picture gets OpenAI's 400/401 error shape."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: dict[str, EditCall] = {}  # by prompt
        self.status_polls = 0  # the edits API answers the request itself: nothing to poll
        self.url = ""
        self._answer = base64.b64encode(small_png()).decode()
        self._runner: web.AppRunner | None = None

    @property
    def overrides(self) -> dict[str, str]:
        """The bot's settings pointing the ``openai`` type at this fake, its edit model the
        default."""
        return {
            "openai_api_key": API_KEY,
            "openai_base_url": f"{self.url}/v1",
            "openai_edit_models": EDIT_MODEL,
            "default_edit_model": f"openai/{EDIT_MODEL}",
        }

    def done_at(self, prompt: str) -> float | None:
        """When the edit with this prompt was answered (monotonic seconds)."""
        call = self.calls.get(prompt)
        return call.done if call is not None else None

    def not_upright(self, prompts: list[str]) -> int:
        """How many of the edits with these prompts came with a picture that was not upright,
        or never came."""
        calls = [self.calls[p] for p in prompts if p in self.calls]
        return sum(1 for call in calls if not call.upright) + len(prompts) - len(calls)

    def rows(self, prompts: list[str]) -> list[tuple[str, str]]:
        """Report rows on the pictures the upstream got for ``prompts``: how many were not
        upright (or never came), and the most common shape and type, with the median size."""
        rows = [("pictures not upright at the upstream", f"{self.not_upright(prompts)}")]
        calls = [self.calls[p] for p in prompts if p in self.calls]
        if calls:
            shape = statistics.mode(f"{c.width}x{c.height} {c.content_type}" for c in calls)
            size = statistics.median(c.size for c in calls) / MB
            rows.append(("picture the upstream got", f"{shape}, {size:.2f} MB"))
        return rows

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * MB)
        app.add_routes([web.post("/v1/images/edits", self._edits)])
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _edits(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key", None)
        if not request.content_type.startswith("multipart/form-data"):
            return _error(400, "Expected multipart/form-data.", "invalid_request_error", None)
        fields, pictures = await _read_form(request)
        prompt, model = fields.get("prompt", ""), fields.get("model", "")
        for name, value in (("prompt", prompt), ("model", model)):
            if not value:
                return _error(400, f"Missing required parameter: '{name}'.", None, name)
        if not pictures:
            return _error(400, "Missing required parameter: 'image'.", None, "image")
        call = _described(prompt, model, pictures)
        if call is None:
            return _error(400, "Invalid image file or mode for image.", None, "image")
        self.calls[prompt] = call
        await asyncio.sleep(self.seconds)
        call.done = time.monotonic()
        return web.json_response(
            {
                "created": int(time.time()),
                "data": [{"b64_json": self._answer}],
                "usage": {"total_tokens": 100, "input_tokens": 10, "output_tokens": 90},
            }
        )


async def _read_form(request: web.Request) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """The form's text fields, and its ``image[]``/``image`` parts as (content type, bytes)."""
    fields: dict[str, str] = {}
    pictures: list[tuple[str, bytes]] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = bytes(await part.read())
        if part.name in ("image[]", "image"):
            pictures.append((part.headers.get("Content-Type", ""), data))
        elif part.filename is None:
            fields[part.name] = data.decode(errors="replace")
    return fields, pictures


def _described(prompt: str, model: str, pictures: list[tuple[str, bytes]]) -> EditCall | None:
    """What the first picture is (its header only), or None when it is not an image."""
    content_type, data = pictures[0]
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            turn = image.getexif().get(ExifTags.Base.Orientation)
    except (OSError, SyntaxError, ValueError):
        return None
    orientation = int(turn) if isinstance(turn, int) else None
    return EditCall(
        prompt, model, width, height, content_type, len(data), orientation, len(pictures)
    )


def _error(status: int, message: str, code: str | None, param: str | None) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return web.json_response({"error": error}, status=status)


class BenchEmulator(BotApiEmulator):
    """The Bot API emulator, making a photo's smaller sizes once per distinct photo.

    Every user here sends the same bytes; the emulator would make three JPEG thumbnails of
    each 12-megapixel photo (about 0.25 s), which spreads a burst over the bench's own CPU
    instead of the bot's. Each photo still gets files of its own (file ids, paths), with the
    bytes of the first one's sizes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sizes_made: dict[bytes, list[dict[str, Any]]] = {}

    def _store_photo(self, data: bytes) -> list[dict[str, Any]]:
        first = self._sizes_made.get(data)
        if first is None:
            first = super()._store_photo(data)
            self._sizes_made[data] = first
            return first
        copies = []
        for size in first:
            stored = self.files[size["file_id"]]
            extension = stored.file_path.rsplit(".", 1)[-1]
            copies.append(
                self._store_file(
                    stored.data,
                    "photo",
                    extension,
                    width=stored.width,
                    height=stored.height,
                    mime_type=stored.mime_type,
                )
            )
        group = [copy.photo_size() for copy in copies]
        for copy in copies:
            self._photo_groups[copy.file_id] = group
        return group


# -- What downloading and normalising one photo costs ----------------------------------------


@dataclass(frozen=True)
class PictureCpu:
    """CPU milliseconds per picture (one entry per run) of the bot's two steps before an
    edit goes up: the download (getFile and the file) and the normalising (fit_picture)."""

    download_ms: list[float]
    normalise_ms: list[float]

    def rows(self) -> list[tuple[str, str]]:
        total = [d + n for d, n in zip(self.download_ms, self.normalise_ms, strict=True)]
        return [
            ("download + normalise CPU per picture p50 / p95", _ms(total)),
            ("of which download p50 / p95", _ms(self.download_ms)),
            ("of which normalise p50 / p95", _ms(self.normalise_ms)),
        ]


def _ms(values: list[float]) -> str:
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18]
    return f"{statistics.median(values):.0f} ms / {p95:.0f} ms"


async def picture_cpu(photo: bytes, runs: int) -> PictureCpu:
    """Downloads ``photo`` from an emulator (as a user's photo) and fits it to the edit
    model's limits ``runs`` times in a child process, as the bot does, and returns the child's
    CPU time per step (the emulator's own work stays in this process)."""
    tg = BotApiEmulator()
    await tg.start()
    try:
        message = tg.send_photo(1, photo)
        file_id = str(message["photo"][-1]["file_id"])
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            download, normalise = await loop.run_in_executor(
                pool, _measure_in_child, tg.url, tg.token, file_id, max(2, runs)
            )
    finally:
        await tg.stop()
    return PictureCpu(download, normalise)


def _measure_in_child(
    api_url: str, token: str, file_id: str, runs: int
) -> tuple[list[float], list[float]]:
    return asyncio.run(_download_and_fit(api_url, token, file_id, runs))


async def _download_and_fit(
    api_url: str, token: str, file_id: str, runs: int
) -> tuple[list[float], list[float]]:
    """CPU ms of bot.jobs.photos.download_image and of fit_picture with the edit model's
    limits, per run, after one run to warm up (imports, the connection, Pillow's plugins)."""
    limits = picture_limits(EDIT_MODEL)
    ref = PhotoRef(file_id, "photo.jpg", "image/jpeg")
    tr = translator("en")
    download: list[float] = []
    normalise: list[float] = []
    async with telegram_bot(token, api_url) as bot:
        for _ in range(runs + 1):
            start = time.process_time()
            media = await download_image(bot, ref, tr)
            fetched = time.process_time()
            fit_picture(media.data, limits, filename=media.filename)
            download.append((fetched - start) * 1000)
            normalise.append((time.process_time() - fetched) * 1000)
    return download[1:], normalise[1:]
