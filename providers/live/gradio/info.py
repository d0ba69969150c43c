"""What a Gradio endpoint takes, read from the app's ``GET /gradio_api/info``.

The info is ``{"named_endpoints": {"/infer": {"parameters": [...], "returns": [...]}, ...},
"unnamed_endpoints": {...}}``. Each parameter, in the order the call's ``data`` list takes
them, looks like::

    {"label": "Width", "parameter_name": "width", "parameter_has_default": true,
     "parameter_default": 1024, "component": "Slider",
     "type": {"type": "number", "description": "numeric value between 256 and 2048"}, ...}

Gradio states a slider's range only in that description (a custom component may give JSON
Schema ``minimum``/``maximum`` instead); older apps leave out ``parameter_name``, so the
label stands in for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from providers.core.errors import ErrorCode, ResponseError

_RANGE = re.compile(
    r"numeric value between (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?) and (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)",
    re.IGNORECASE,
)


PictureSlot = Literal["one", "list", "gallery"]


@dataclass(frozen=True)
class Parameter:
    """One input of an endpoint: its name, how the app shows it, its JSON type, its default
    (when it has one) and, for numbers, the range the app accepts (None: unbounded)."""

    name: str
    label: str = ""
    component: str = ""
    type: str = ""
    """The JSON Schema type: ``string``, ``number``, ``integer``, ``boolean``, or "" (other)."""
    has_default: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def picture_slot(self) -> PictureSlot | None:
        """How the parameter takes pictures: ``one`` FileData (an ``Image``, or a ``File``
        for one file), a ``list`` of them (a ``File`` for several), a ``gallery`` (a list of
        ``{"image": FileData, "caption": ...}``); None when it takes none."""
        component = self.component.lower()
        if component == "gallery":
            return "gallery"
        if component in ("image", "file"):
            return "list" if self.type == "array" else "one"
        return None

    @property
    def is_text(self) -> bool:
        """Whether the parameter takes free text (a textbox, not a choice among values)."""
        return self.type == "string" and self.component.lower() in ("textbox", "text", "")

    def bounded(self, value: float) -> bool:
        """Whether ``value`` lies inside the parameter's range."""
        low = self.minimum if self.minimum is not None else float("-inf")
        high = self.maximum if self.maximum is not None else float("inf")
        return low <= value <= high


@dataclass(frozen=True)
class Endpoint:
    """A named endpoint (``api_name`` with its leading slash) and its parameters, in order."""

    api_name: str
    parameters: tuple[Parameter, ...]


def api_path(api_name: str) -> str:
    """``api_name`` as the info names it: with one leading slash (``infer`` -> ``/infer``)."""
    return "/" + api_name.strip().lstrip("/")


def parse_endpoint(info: Any, api_name: str, label: str) -> Endpoint:
    """The endpoint ``api_name`` of an app's info.

    Raises ResponseError (naming the provider ``label``) when the info is not the shape Gradio
    sends, or when the app has no such endpoint (the message lists the ones it has).
    """
    named = info.get("named_endpoints") if isinstance(info, dict) else None
    if not isinstance(named, dict):
        raise ResponseError(ErrorCode.UNREADABLE_API, provider=label)
    path = api_path(api_name)
    raw = named.get(path)
    if not isinstance(raw, dict):
        known = ", ".join(sorted(str(name) for name in named)[:8]) or "none"
        raise ResponseError(ErrorCode.NO_ENDPOINT, provider=label, path=path, known=known)
    items = raw.get("parameters")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ResponseError(ErrorCode.UNREADABLE_ENDPOINT, provider=label, path=path)
    return Endpoint(path, tuple(parse_parameter(item, index) for index, item in enumerate(items)))


def parse_parameter(item: Mapping[str, Any], index: int) -> Parameter:
    """One parameter of the info; a missing name falls back to its label, then its position."""
    label = str(item.get("label") or "")
    name = item.get("parameter_name")
    if not isinstance(name, str) or not name:
        name = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or f"parameter_{index}"
    schema = item.get("type")
    schema = schema if isinstance(schema, dict) else {}
    kind = schema.get("type")
    low, high = _range(schema)
    return Parameter(
        name=name,
        label=label,
        component=str(item.get("component") or ""),
        type=kind if isinstance(kind, str) else "",
        has_default=bool(item.get("parameter_has_default", False)),
        default=item.get("parameter_default"),
        minimum=low,
        maximum=high,
    )


def _range(schema: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """A number's range: JSON Schema bounds if given, else Gradio's slider description."""
    low, high = _number(schema.get("minimum")), _number(schema.get("maximum"))
    if low is not None or high is not None:
        return low, high
    match = _RANGE.search(str(schema.get("description") or ""))
    if match is None:
        return None, None
    return float(match[1]), float(match[2])


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
