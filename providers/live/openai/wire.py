"""The OpenAI wire conventions every OpenAI-compatible call shares: a Bearer key, JSON bodies,
and error answers (``{"error": {"message", "type", "code"}}``) turned into ProviderErrors.

Requests ride the project's pooled aiohttp session, so the PROXY setting and the timeouts apply.
No message built here quotes the upstream's own error text: servers echo parts of the key in it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from pydantic import SecretStr
from yarl import URL

from providers.core.errors import (
    AuthError,
    ErrorCode,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Refused,
    ResponseError,
)
from providers.core.provider import ProviderContext

_QUOTA = re.compile(r"quota|billing|credit|balance|insufficient|pollen", re.IGNORECASE)
_POLICY = re.compile(r"content_policy|moderation|safety|content_filter", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_BAD_KEY = re.compile(r"invalid_api_key|api_key_invalid", re.IGNORECASE)
_VIOLATIONS = re.compile(r"safety_violations=\[([^\]]{1,200})\]")
_CATEGORY_WORDS = frozenset({
    "sexual", "minors", "harassment", "threatening", "hate", "illicit", "violent", "violence",
    "graphic", "self-harm", "intent", "instructions", "nudity", "weapons", "drugs", "extremism",
    "terrorism", "csam", "child_safety",
})  # fmt: skip
"""The words moderation categories are made of (OpenAI's moderation: ``violence/graphic``):
only these are repeated to users, so nothing else of an error body ever is."""


@dataclass(frozen=True)
class Endpoint:
    """Where an OpenAI-compatible API lives and how to sign in: ``base`` without a trailing
    slash (paths are appended), the label errors name, and the key (never shown in a repr)."""

    base: str
    label: str
    key: SecretStr | None = field(default=None, repr=False)

    def url(self, path: str) -> str:
        return f"{self.base.rstrip('/')}/{path.lstrip('/')}"

    def headers(self) -> dict[str, str]:
        """The Authorization header, when there is a key."""
        if self.key is None or not self.key.get_secret_value():
            return {}
        return {"Authorization": f"Bearer {self.key.get_secret_value()}"}

    @asynccontextmanager
    async def request(
        self,
        context: ProviderContext,
        method: str,
        url: str | URL,
        *,
        patient: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A response with a status below 400, or the matching ProviderError.

        ``patient`` is for calls that answer only when the work is done (a whole picture): one
        read may then wait up to the job deadline instead of the read timeout. Failures while
        the caller reads the body (a connection cut mid-stream) are mapped too.
        """
        settings = context.settings
        if patient:
            kwargs["timeout"] = aiohttp.ClientTimeout(
                sock_connect=settings.connect_timeout,
                sock_read=max(settings.read_timeout, settings.job_timeout),
            )
        headers = {**kwargs.pop("headers", {}), **self.headers()}
        try:
            async with context.http.session.request(
                method, url, headers=headers, **kwargs
            ) as response:
                if response.status >= 400:
                    raise await error_for(response, self.label)
                yield response
        except ProviderError:
            raise
        except TimeoutError as exc:
            raise ProviderTimeout(ErrorCode.TIMEOUT, provider=self.label) from exc
        except aiohttp.ClientPayloadError as exc:
            raise ProviderUnavailable(ErrorCode.BROKE_OFF, provider=self.label) from exc
        except aiohttp.ClientError as exc:
            raise ProviderUnavailable(ErrorCode.UNREACHABLE, provider=self.label) from exc

    async def post_json(
        self, context: ProviderContext, path: str, body: Mapping[str, Any], *, patient: bool = False
    ) -> Any:
        """The decoded JSON answer to POSTing ``body`` to ``{base}/{path}``."""
        return await self.post(context, path, patient=patient, json=body)

    async def post_form(
        self, context: ProviderContext, path: str, form: aiohttp.FormData, *, patient: bool = False
    ) -> Any:
        """The decoded JSON answer to POSTing a ``multipart/form-data`` ``form``."""
        return await self.post(context, path, patient=patient, data=form)

    async def post(
        self, context: ProviderContext, path: str, *, patient: bool = False, **kwargs: Any
    ) -> Any:
        """The decoded JSON answer to a POST to ``{base}/{path}`` (``kwargs`` for aiohttp)."""
        async with self.request(
            context, "POST", self.url(path), patient=patient, **kwargs
        ) as response:
            raw = await response.read()
        return decode_json(raw, self.label)


def decode_json(raw: bytes | str, label: str) -> Any:
    """Parsed JSON, or a ResponseError saying the answer could not be read."""
    try:
        return json.loads(raw)
    except ValueError:
        raise ResponseError(ErrorCode.UNREADABLE_RESPONSE, provider=label) from None


async def error_for(response: aiohttp.ClientResponse, label: str) -> ProviderError:
    """The ProviderError for an error status, told apart by the status and the error body."""
    try:
        body = await response.read()
    except aiohttp.ClientError:
        body = b""
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    return status_error(response.status, payload, response.headers, label)


def status_error(
    status: int | None, payload: Any, headers: Mapping[str, str], label: str
) -> ProviderError:
    """Maps an HTTP status (None: an error event inside a stream) and the error object to an
    error with a user-safe message."""
    code, kind, message = _error_fields(payload)
    ident = f"{code} {kind}"
    refused = _moderation(payload, code, message, label)
    if refused is not None:
        return refused
    if status in (401, 403) or _BAD_KEY.search(ident):
        which = ErrorCode.ACCESS_REFUSED if status == 403 else ErrorCode.KEY_REFUSED
        return AuthError(which, provider=label, status=status or 401)
    wait = retry_after(headers)
    if status == 402 or _QUOTA.search(ident) or (status == 429 and _QUOTA.search(message)):
        return RateLimited(ErrorCode.NO_QUOTA_LEFT, provider=label, retry_after=wait)
    if status == 429 or "rate_limit" in ident:
        if wait is None:
            return RateLimited(ErrorCode.SLOW_DOWN, provider=label)
        return RateLimited(
            ErrorCode.SLOW_DOWN_SECONDS, provider=label, retry_after=wait, seconds=wait
        )
    if _POLICY.search(f"{ident} {message}"):
        return Refused(ErrorCode.CONTENT_POLICY, provider=label)
    if status is None or status >= 500:
        if not status:
            return ProviderUnavailable(ErrorCode.TROUBLE, provider=label)
        return ProviderUnavailable(ErrorCode.TROUBLE_HTTP, provider=label, status=status)
    if _CODE.fullmatch(code) and not code.isdigit():
        return ResponseError(ErrorCode.REJECTED_DETAIL, provider=label, status=status, detail=code)
    return ResponseError(ErrorCode.REJECTED, provider=label, status=status)


def _moderation(payload: Any, code: str, message: str, label: str) -> Refused | None:
    """The refusal an error body reports, or None: OpenAI's ``moderation_blocked`` (its
    categories in ``safety_violations=[...]`` of the message) or OpenRouter's 403 whose
    ``metadata`` names the flagged ``reasons``. Only category words are kept, never the
    upstream's sentence."""
    metadata = _error_object(payload).get("metadata")
    if isinstance(metadata, dict) and ("reasons" in metadata or "flagged_input" in metadata):
        reasons = metadata.get("reasons")
        categories = _categories(reasons if isinstance(reasons, list) else [])
    elif code == "moderation_blocked":
        found = _VIOLATIONS.search(message)
        categories = _categories(found[1].split(",") if found else [])
    else:
        return None
    if categories:
        reason = ", ".join(categories)
        return Refused(ErrorCode.MODERATION_REASON, provider=label, reason=reason)
    return Refused(ErrorCode.MODERATION, provider=label)


def _categories(values: list[Any]) -> tuple[str, ...]:
    """Up to three known category names (``sexual``, ``violence/graphic``), others dropped."""
    names = [v.strip().lower() for v in values if isinstance(v, str)]
    known = [n for n in names if n and set(n.split("/")) <= _CATEGORY_WORDS]
    return tuple(known)[:3]


def _error_object(payload: Any) -> dict[str, Any]:
    """The ``error`` object of an error body (the first, for a list), or an empty dict."""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def _error_fields(payload: Any) -> tuple[str, str, str]:
    """``(code, type, message)`` of an OpenAI-style error body, empty strings where absent.

    Servers differ: OpenAI sends ``{"error": {...}}``, Gemini's endpoint a list of those (with
    the reason, such as API_KEY_INVALID, in ``details``), some ``{"error": "text"}``.
    """
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return "", "", payload["error"]
    error = _error_object(payload)
    if not error:
        return "", "", ""

    def text(key: str) -> str:
        value = error.get(key)
        return str(value) if value is not None else ""

    details = error.get("details")
    reasons = [d.get("reason") for d in details or [] if isinstance(d, dict)]
    kind = " ".join([text("type") or text("status"), *(str(r) for r in reasons if r)])
    return text("code"), kind, text("message")


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
