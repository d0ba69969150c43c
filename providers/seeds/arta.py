"""ARTA (ai-arta.com): anonymous Firebase sign-up, then text2image with status polling."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import random
import tempfile
import time
import urllib.parse
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from providers.core.errors import AuthError, ErrorCode, ProviderError, ResponseError, UnknownModel
from providers.core.http import require
from providers.core.polling import (
    POLL_RETRIES,
    Pacer,
    PollPace,
    TransientFaults,
    upstream_hints,
)
from providers.core.provider import ImageSeed, ProviderContext
from providers.core.settings import ARTA_KEY
from providers.core.types import (
    EventStream,
    ImageOptions,
    ImageRequest,
    ImageResponse,
    Messages,
    Progress,
    Stage,
    format_prompt,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

STYLES: dict[str, str] = {
    "flux": "Flux",
    "medieval": "Medieval",
    "vincent_van_gogh": "Vincent Van Gogh",
    "f_dev": "F Dev",
    "low_poly": "Low Poly",
    "dreamshaper_xl": "Dreamshaper-xl",
    "anima_pencil_xl": "Anima-pencil-xl",
    "biomech": "Biomech",
    "trash_polka": "Trash Polka",
    "no_style": "No Style",
    "cheyenne_xl": "Cheyenne-xl",
    "chicano": "Chicano",
    "embroidery_tattoo": "Embroidery tattoo",
    "red_and_black": "Red and Black",
    "fantasy_art": "Fantasy Art",
    "watercolor": "Watercolor",
    "dotwork": "Dotwork",
    "old_school_colored": "Old school colored",
    "realistic_tattoo": "Realistic tattoo",
    "japanese_2": "Japanese_2",
    "realistic_stock_xl": "Realistic-stock-xl",
    "f_pro": "F Pro",
    "revanimated": "RevAnimated",
    "katayama_mix_xl": "Katayama-mix-xl",
    "sdxl_l": "SDXL L",
    "cor_epica_xl": "Cor-epica-xl",
    "anime_tattoo": "Anime tattoo",
    "new_school": "New School",
    "death_metal": "Death metal",
    "old_school": "Old School",
    "juggernaut_xl": "Juggernaut-xl",
    "photographic": "Photographic",
    "sdxl_1_0": "SDXL 1.0",
    "graffiti": "Graffiti",
    "mini_tattoo": "Mini tattoo",
    "surrealism": "Surrealism",
    "neo_traditional": "Neo-traditional",
    "on_limbs_black": "On limbs black",
    "yamers_realistic_xl": "Yamers-realistic-xl",
    "pony_xl": "Pony-xl",
    "playground_xl": "Playground-xl",
    "anything_xl": "Anything-xl",
    "flame_design": "Flame design",
    "kawaii": "Kawaii",
    "cinematic_art": "Cinematic Art",
    "professional": "Professional",
    "black_ink": "Black Ink",
}

# Status labels the upstream reports while a job is alive; anything else but DONE is a failure.
_WAITING: dict[str, tuple[Stage, str]] = {
    "IN_QUEUE": (Stage.QUEUED, "In the queue"),
    "IN_PROGRESS": (Stage.GENERATING, "Generating"),
}

# One lock per (event loop, auth file): asyncio locks must not be shared across loops.
_auth_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _auth_lock(path: Path) -> asyncio.Lock:
    locks = _auth_locks.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(path.resolve(), asyncio.Lock())


def _load_auth(path: Path) -> tuple[dict[str, Any], float] | None:
    """The cached auth data and its age in seconds, or None when missing or unreadable."""
    try:
        age = time.time() - path.stat().st_mtime
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("idToken"), str):
        return None
    return data, age


def _save_auth(path: Path, data: dict[str, Any]) -> None:
    """Replaces ``path`` atomically with ``data``, readable by the owner only. On a full disk
    the token is used from memory (and signed up for again after a restart), said once."""
    try:
        _write_auth(path, data)
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        if str(path) not in _UNSAVED:
            _UNSAVED.add(str(path))
            log.error(
                "no space left on the disk for %s (%s): the token is kept in memory", path, error
            )
        return
    _UNSAVED.discard(str(path))


_UNSAVED: set[str] = set()  # token files a full disk kept from being saved (told once)


def _write_auth(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _expires_in(data: dict[str, Any]) -> float:
    try:
        return float(data.get("expiresIn", 3600))
    except (TypeError, ValueError):
        return 0.0


class ARTA(ImageSeed):
    """ARTA's 47 styles. Auth data is cached in ``{data_dir}/auth_ARTA.json``."""

    name = "arta"
    label = "ARTA"
    url = "https://ai-arta.com"
    # The seed's production endpoints, for reference; requests go to the settings' URLs.
    auth_url: ClassVar[str] = (
        f"https://www.googleapis.com/identitytoolkit/v3/relyingparty/signupNewUser?key={ARTA_KEY}"
    )
    token_refresh_url: ClassVar[str] = f"https://securetoken.googleapis.com/v1/token?key={ARTA_KEY}"
    image_generation_url: ClassVar[str] = "https://img-gen-prod.ai-arta.com/api/v1/text2image"
    status_check_url: ClassVar[str] = (
        "https://img-gen-prod.ai-arta.com/api/v1/text2image/{record_id}/status"
    )
    working = True
    typical_seconds: ClassVar[float | None] = 6.0

    default_model = "Flux"
    default_image_model = default_model
    model_aliases: ClassVar[dict[str, str]] = dict(STYLES)
    image_models: ClassVar[list[str]] = list(STYLES.values())
    models: ClassVar[list[str]] = image_models
    options = ImageOptions(
        max_images=4,
        steps=(1, 50),
        cfg=(1, 20),
        aspect_ratios=("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9"),
    )

    @classmethod
    def image_kwargs(cls, request: ImageRequest) -> dict[str, Any]:
        """The generator keywords for ``request``; unset values are left to the defaults."""
        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "n": request.n,
            "negative_prompt": request.negative_prompt or None,
            "guidance_scale": request.cfg,
            "num_inference_steps": request.steps,
            "aspect_ratio": request.aspect_ratio,
            "seed": request.seed,
        }
        return {key: value for key, value in kwargs.items() if value is not None}

    @classmethod
    def get_model(cls, model: str) -> str:
        """The style name for a style name or alias; raises UnknownModel with suggestions."""
        try:
            return super().get_model(model)
        except UnknownModel:
            key = model.strip().lower().replace(" ", "_").replace("-", "_")
            if key in cls.model_aliases:
                return cls.model_aliases[key]
            close = [f"{cls.name}/{alias}" for alias in cls.model_aliases if key and key in alias]
            raise UnknownModel(model, close[:3]) from None

    def generate(
        self, upstream: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """The seed generator, waiting out a few transient errors while it polls and pacing
        the polls by how long this provider's jobs take (:attr:`pacer`)."""
        return self.create_async_generator(
            upstream,
            [],
            context=context,
            poll_retries=POLL_RETRIES,
            pacer=self.pacer,
            **self.image_kwargs(request),
        )

    # --- authentication -------------------------------------------------------------------

    @classmethod
    def get_auth_file(cls, context: ProviderContext) -> Path:
        """Where the auth data is cached; the data directory is created if needed."""
        directory = context.settings.data_dir
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"auth_{cls.__name__}.json"

    @classmethod
    async def create_token(
        cls, path: Path, context: ProviderContext, proxy: str | None = None
    ) -> dict[str, Any]:
        """Signs up a new anonymous user, saves the answer to ``path`` and returns it.

        The returned dict holds at least ``idToken``; ResponseError when it does not.
        """
        data = await context.http.json(
            "POST",
            context.settings.arta_auth_url,
            provider=cls.label,
            json={"clientType": "CLIENT_TYPE_ANDROID"},
            **_proxy(proxy),
        )
        if not isinstance(require(data, "idToken", cls.label), str):
            raise ResponseError(ErrorCode.UNREADABLE_SIGNUP, provider=cls.label)
        log.info("%s: signed up for a new anonymous token", cls.label)
        _save_auth(path, data)
        return dict(data)

    @classmethod
    async def refresh_token(
        cls, refresh_token: str, context: ProviderContext, proxy: str | None = None
    ) -> tuple[str, str]:
        """A fresh ``(id_token, refresh_token)`` pair for ``refresh_token``."""
        data = await cls._refresh(refresh_token, context, proxy)
        return data["idToken"], data["refreshToken"]

    @classmethod
    async def _refresh(
        cls, refresh_token: str, context: ProviderContext, proxy: str | None
    ) -> dict[str, Any]:
        """The refreshed tokens under the sign-up answer's key names (idToken, ...)."""
        data = await context.http.json(
            "POST",
            context.settings.arta_token_refresh_url,
            provider=cls.label,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            **_proxy(proxy),
        )
        fresh = {
            "idToken": require(data, "id_token", cls.label),
            "refreshToken": require(data, "refresh_token", cls.label),
            "expiresIn": data.get("expires_in", "3600"),
        }
        if not isinstance(fresh["idToken"], str) or not isinstance(fresh["refreshToken"], str):
            raise ResponseError(ErrorCode.UNREADABLE_TOKEN, provider=cls.label)
        log.info("%s: refreshed the anonymous token", cls.label)
        return fresh

    @classmethod
    def needs_sign_in(cls, context: ProviderContext) -> bool:
        """Whether the next job asks Google for a token first (none cached, or one old enough
        to be refreshed): the job then waits for that before anything is sent."""
        cached = _load_auth(cls.get_auth_file(context))
        return cached is None or cached[1] >= _expires_in(cached[0]) / 2

    @classmethod
    async def read_and_refresh_token(
        cls, context: ProviderContext, proxy: str | None = None
    ) -> dict[str, Any]:
        """Usable auth data (with ``idToken``): cached, refreshed, or from a new sign-up.

        The cache is trusted for half of ``expiresIn`` after it was written, refreshed until
        ``expiresIn`` has passed, and replaced by a new sign-up after that or when refreshing
        fails. Concurrent callers share one lock, so they share one sign-up.
        """
        path = cls.get_auth_file(context)
        async with _auth_lock(path):
            cached = _load_auth(path)
            if cached is None:
                return await cls.create_token(path, context, proxy)
            data, age = cached
            expires_in = _expires_in(data)
            if age < expires_in / 2:
                return data
            if age < expires_in:
                return await cls._refresh_or_sign_up(path, data, context, proxy)
            return await cls.create_token(path, context, proxy)

    @classmethod
    async def _renew(
        cls, rejected: str, context: ProviderContext, proxy: str | None
    ) -> dict[str, Any]:
        """New auth data after ``rejected`` got a 401, unless another job already renewed it."""
        path = cls.get_auth_file(context)
        async with _auth_lock(path):
            cached = _load_auth(path)
            if cached is None:
                return await cls.create_token(path, context, proxy)
            data, _ = cached
            if data["idToken"] != rejected:
                return data
            return await cls._refresh_or_sign_up(path, data, context, proxy)

    @classmethod
    async def _refresh_or_sign_up(
        cls, path: Path, data: dict[str, Any], context: ProviderContext, proxy: str | None
    ) -> dict[str, Any]:
        refresh = data.get("refreshToken")
        if isinstance(refresh, str) and refresh:
            try:
                fresh = await cls._refresh(refresh, context, proxy)
            except ProviderError as exc:
                log.warning("%s: token refresh failed (%s); signing up again", cls.label, exc)
            else:
                updated = {**data, **fresh}
                _save_auth(path, updated)
                return updated
        return await cls.create_token(path, context, proxy)

    # --- generation -----------------------------------------------------------------------

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        *,
        context: ProviderContext,
        proxy: str | None = None,
        prompt: str | None = None,
        negative_prompt: str = "blurry, deformed hands, ugly",
        n: int = 1,
        guidance_scale: float = 7,
        num_inference_steps: int = 30,
        aspect_ratio: str = "1:1",
        seed: int | None = None,
        poll_retries: int = 0,
        pacer: Pacer | None = None,
        **kwargs: Any,
    ) -> EventStream:
        """Progress when the upstream status changes, then one ImageResponse with every URL.

        Raises UnknownModel for an unknown style, ResponseError when the upstream reports a
        failure or answers with something unreadable, and the HTTP layer's errors otherwise;
        up to ``poll_retries`` transient errors in a row while polling are waited out (the
        seed gives up at the first). Polls are ``settings.poll_interval`` apart, or paced by
        ``pacer``, which also learns how long this job took.
        """
        style = cls.get_model(model)
        text = format_prompt(messages, prompt)
        if seed is None:
            seed = random.randint(9_999, 99_999_999)
        api = context.settings.arta_api_url.rstrip("/")
        signing_in = cls.needs_sign_in(context)
        if signing_in:
            yield Progress(Stage.SIGNING_IN, f"Signing in to {cls.label}", 0.0)
        auth = await cls.read_and_refresh_token(context, proxy)
        if signing_in:  # on its way, not yet taken (no job id)
            yield Progress(Stage.SUBMITTED, f"Sending to {cls.label}", 0.0)
        token = _Token(cls, auth["idToken"], context, proxy)
        form = {
            "prompt": text,
            "negative_prompt": negative_prompt,
            "style": style,
            "images_num": str(n),
            "cfg_scale": f"{guidance_scale:g}",
            "steps": str(num_inference_steps),
            "aspect_ratio": aspect_ratio,
            "seed": str(seed),
        }

        async def submit(headers: dict[str, str]) -> Any:
            return await context.http.json(
                "POST",
                f"{api}/text2image",
                provider=cls.label,
                data=form,
                headers=headers,
                **_proxy(proxy),
            )

        pace = pacer.start(context.settings.poll_interval, model=style) if pacer else None
        submitted = await token.send(submit)
        record_id = str(require(submitted, "record_id", cls.label))
        yield Progress(Stage.SUBMITTED, f"Sent to {cls.label}", 0.0, job_id=record_id)
        follow = cls._follow(context, record_id, token, text, seed, style, poll_retries, pace)
        async with contextlib.aclosing(follow) as events:
            async for event in events:
                yield event

    def resume(
        self, upstream: str, job: str, request: ImageRequest, context: ProviderContext
    ) -> EventStream:
        """Follows a record submitted before a restart, from its id, without submitting again."""
        pace = self.pacer.start(context.settings.poll_interval, model=upstream, resumed=True)
        return self._resumed(upstream, job, request, context, pace)

    @classmethod
    async def _resumed(
        cls,
        style: str,
        record_id: str,
        request: ImageRequest,
        context: ProviderContext,
        pace: PollPace,
    ) -> EventStream:
        auth = await cls.read_and_refresh_token(context)
        token = _Token(cls, auth["idToken"], context, None)
        follow = cls._follow(
            context, record_id, token, request.prompt, request.seed, style, POLL_RETRIES, pace
        )
        async with contextlib.aclosing(follow) as events:
            async for event in events:
                yield event

    @classmethod
    async def _follow(
        cls,
        context: ProviderContext,
        record_id: str,
        token: _Token,
        text: str,
        seed: int | None,
        style: str,
        poll_retries: int,
        pace: PollPace | None = None,
    ) -> EventStream:
        """Polls the record: Progress at each status change, then one ImageResponse.

        Without ``pace`` (the seed's way) the first poll is at once and the others
        ``settings.poll_interval`` apart; with it, every poll waits ``pace.next_pause()``.
        """
        api = context.settings.arta_api_url.rstrip("/")
        record = urllib.parse.quote(record_id, safe="")
        status_url = f"{api}/text2image/{record}/status"
        started = asyncio.get_running_loop().time()

        async def poll(headers: dict[str, str]) -> Any:
            return await context.http.json(
                "GET", status_url, provider=cls.label, headers=headers, **_proxy(token.proxy)
            )

        async def pause() -> None:
            if pace:
                await pace.wait()
            else:
                await asyncio.sleep(context.settings.poll_interval)

        last_status = ""
        faults = TransientFaults(poll_retries)
        if pace:
            await pace.wait()
        while True:
            try:
                answer = await token.send(poll)
            except ProviderError as error:
                faults.absorb(error)
                await pause()
                continue
            faults.reset()
            status = str(require(answer, "status", cls.label))
            if pace:
                upstream_hints(pace, answer, drawing=status == "IN_PROGRESS")
            if status == "DONE":
                if pace:
                    pace.finished()
                yield ImageResponse(
                    images=cls._image_urls(answer), alt=text, seed=seed, model=style
                )
                return
            if status not in _WAITING:
                raise ResponseError(
                    ErrorCode.GENERATION_FAILED_STATUS, provider=cls.label, status=status[:40]
                )
            if status != last_status:
                last_status = status
                stage, label = _WAITING[status]
                elapsed = asyncio.get_running_loop().time() - started
                yield Progress(stage, label, elapsed, job_id=record_id)
            await pause()

    @classmethod
    def _image_urls(cls, answer: dict[str, Any]) -> list[str]:
        items = answer.get("response")
        urls: list[str] = []
        for item in items if isinstance(items, list) else []:
            url = item.get("url") if isinstance(item, dict) else None
            if not isinstance(url, str) or not url:
                raise ResponseError(ErrorCode.IMAGE_WITHOUT_URL, provider=cls.label)
            urls.append(url)
        if not urls:
            raise ResponseError(ErrorCode.FINISHED_WITHOUT_SENDING, provider=cls.label)
        return urls


class _Token:
    """The id token ARTA's requests carry; after a 401 it is renewed once and the request sent
    again (renewals are shared between concurrent jobs through the auth file's lock)."""

    def __init__(
        self, provider: type[ARTA], value: str, context: ProviderContext, proxy: str | None
    ) -> None:
        self.provider, self.value, self.context, self.proxy = provider, value, context, proxy

    async def send(self, request: Callable[[dict[str, str]], Awaitable[T]]) -> T:
        """``request(headers)``; after a 401, once more with renewed credentials."""
        try:
            return await request({"Authorization": self.value})
        except AuthError:
            renewed = await self.provider._renew(self.value, self.context, self.proxy)
            self.value = renewed["idToken"]
            return await request({"Authorization": self.value})


def _proxy(proxy: str | None) -> dict[str, Any]:
    """The ``proxy=`` keyword for a request, or nothing so the pool's own proxy applies."""
    return {"proxy": proxy} if proxy is not None else {}
