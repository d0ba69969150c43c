"""An ImageRequest as the ``data`` list of one Gradio endpoint, filled by parameter name.

Known names (case-insensitive, with a few common spellings) take the request's values:
``prompt``, ``negative_prompt``, ``seed``, ``randomize_seed``, ``width``, ``height``,
``guidance_scale``, ``num_inference_steps`` and, for an edit, ``strength`` (or ``denoise``,
``denoising_strength``, ``prompt_strength``: by name, else by label). A value the request leaves
unset, and every parameter we do not know, keeps the default the app declares. When no parameter
is named like a prompt, the prompt goes to the first text box. An edit's pictures go to the
first parameter that takes pictures (:func:`picture_parameter`); the caller fills it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from providers.core.errors import ErrorCode, InvalidOption, ResponseError
from providers.core.types import ImageRequest
from providers.live.gradio.info import Endpoint, Parameter

AREA = 1024 * 1024
"""Pictures are sized near one megapixel."""
STEP = 64
"""Computed sides are multiples of this (then clamped into the app's range)."""

_ROLES: dict[str, str] = {
    "prompt": "prompt",
    "positive_prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "negative": "negative_prompt",
    "seed": "seed",
    "randomize_seed": "randomize_seed",
    "width": "width",
    "height": "height",
    "guidance_scale": "cfg",
    "guidance": "cfg",
    "cfg": "cfg",
    "cfg_scale": "cfg",
    "num_inference_steps": "steps",
    "number_of_inference_steps": "steps",
    "num_steps": "steps",
    "steps": "steps",
    "strength": "strength",
    "denoise": "strength",
    "denoising": "strength",
    "denoising_strength": "strength",
    "denoise_strength": "strength",
    "prompt_strength": "strength",
}
"""Parameter name -> the request field that fills it."""
_BY_LABEL = ("strength",)
"""Roles a parameter may also take by its label (apps often name a slider's argument tersely)."""

_TYPES: dict[str, tuple[str, ...]] = {
    "prompt": ("string", ""),
    "negative_prompt": ("string", ""),
    "randomize_seed": ("boolean", ""),
}
"""The JSON types a role accepts; the other roles are numbers."""
_NUMBER = ("number", "integer", "")


def picture_parameter(endpoint: Endpoint) -> int | None:
    """The position of the first parameter that takes pictures (an Image, File or Gallery),
    None when the endpoint takes none."""
    return next((i for i, p in enumerate(endpoint.parameters) if p.picture_slot is not None), None)


def fill(
    endpoint: Endpoint,
    request: ImageRequest,
    label: str,
    given: Mapping[int, Any] | None = None,
) -> list[Any]:
    """The values to post for ``request``, one per parameter, in the endpoint's order;
    ``given`` holds values the caller fills itself, by position (an edit's pictures).

    A given seed turns ``randomize_seed`` off. Width and height come from the aspect ratio
    (near one megapixel, multiples of 64, clamped to the app's ranges); without an aspect
    ratio they keep the app's defaults. A request value the endpoint has no parameter for is
    ignored.

    Raises InvalidOption when a seed, step count or guidance scale is outside the range the
    app accepts, and ResponseError when the endpoint needs an input the bot cannot fill
    (an image, say) or has no text input for the prompt.
    """
    roles = assign_roles(endpoint.parameters)
    if "prompt" not in roles.values():
        raise ResponseError(ErrorCode.NO_PROMPT_INPUT, provider=label, endpoint=endpoint.api_name)
    size = _size(endpoint.parameters, roles, request)
    given = given or {}
    values: list[Any] = []
    for index, parameter in enumerate(endpoint.parameters):
        if index in given:
            values.append(given[index])
            continue
        role = roles.get(index)
        value = _value(role, parameter, request, size, label) if role else _NOT_SET
        if value is _NOT_SET:
            if not parameter.has_default:
                shown = parameter.label or parameter.name
                if parameter.component:
                    raise ResponseError(
                        ErrorCode.UNFILLABLE_INPUT_KIND,
                        provider=label,
                        endpoint=endpoint.api_name,
                        name=shown,
                        kind=parameter.component,
                    )
                raise ResponseError(
                    ErrorCode.UNFILLABLE_INPUT,
                    provider=label,
                    endpoint=endpoint.api_name,
                    name=shown,
                )
            value = parameter.default
        values.append(value)
    return values


def assign_roles(parameters: Sequence[Parameter]) -> dict[int, str]:
    """Parameter position -> the request field that fills it; each field fills one parameter.

    Names decide; when none is named like a prompt, the first text box takes the prompt.
    """
    roles: dict[int, str] = {}
    for index, parameter in enumerate(parameters):
        role = _ROLES.get(parameter.name.lower())
        if role is None:
            by_label = _ROLES.get(re.sub(r"[^a-z0-9]+", "_", parameter.label.lower()).strip("_"))
            role = by_label if by_label in _BY_LABEL else None
        if role is None or role in roles.values():
            continue
        if parameter.type in _TYPES.get(role, _NUMBER):
            roles[index] = role
    if "prompt" not in roles.values():
        for index, parameter in enumerate(parameters):
            if index not in roles and parameter.is_text:
                roles[index] = "prompt"
                break
    return roles


class _NotSet:
    """The request leaves the parameter to its default."""


_NOT_SET: Any = _NotSet()


def _value(
    role: str,
    parameter: Parameter,
    request: ImageRequest,
    size: dict[str, int],
    label: str,
) -> Any:
    """The request's value for one known parameter, or _NOT_SET for the app's default."""
    if role == "prompt":
        return request.prompt
    if role == "negative_prompt":
        if request.negative_prompt is not None:
            return request.negative_prompt
        return _NOT_SET if parameter.has_default else ""
    if role == "randomize_seed":
        if request.seed is not None:
            return False
        return _NOT_SET if parameter.has_default else True
    if role in ("width", "height"):
        return size.get(role, _NOT_SET)
    wanted: float | None = {
        "seed": request.seed,
        "steps": request.steps,
        "cfg": request.cfg,
        "strength": request.strength,
    }[role]
    if wanted is None:
        return _NOT_SET if parameter.has_default or role != "seed" else 0
    if not parameter.bounded(wanted):
        raise _out_of_range(role, parameter, label)
    if parameter.type == "integer" or role in ("seed", "steps"):
        return round(wanted)
    return wanted


def _out_of_range(role: str, parameter: Parameter, label: str) -> InvalidOption:
    """ "takes steps from 1 to 50": ``option`` is the role (seed, steps or cfg)."""
    low, high = _shown(parameter.minimum), _shown(parameter.maximum)
    if low and high:
        return InvalidOption(ErrorCode.TAKES_RANGE, provider=label, option=role, low=low, high=high)
    if low:
        return InvalidOption(ErrorCode.TAKES_AT_LEAST, provider=label, option=role, low=low)
    return InvalidOption(ErrorCode.TAKES_AT_MOST, provider=label, option=role, high=high)


def _shown(bound: float | None) -> str:
    if bound is None:
        return ""
    return str(int(bound)) if bound.is_integer() else f"{bound:g}"


def _size(
    parameters: Sequence[Parameter], roles: dict[int, str], request: ImageRequest
) -> dict[str, int]:
    """``{"width": w, "height": h}`` for the parameters present, or {} to keep the defaults."""
    sides = {
        role: parameters[index] for index, role in roles.items() if role in ("width", "height")
    }
    if not sides:
        return {}
    if request.aspect_ratio is None and all(p.has_default for p in sides.values()):
        return {}
    width, height = fit_size(
        parse_ratio(request.aspect_ratio or "1:1"),
        sides.get("width", Parameter("width")),
        sides.get("height", Parameter("height")),
    )
    return {role: width if role == "width" else height for role in sides}


def parse_ratio(aspect_ratio: str) -> float:
    """Width over height of ``W:H``; InvalidOption for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", aspect_ratio)
    ratio = float(match[1]) / float(match[2]) if match and float(match[2]) else 0.0
    if ratio <= 0:
        raise InvalidOption(ErrorCode.NOT_A_RATIO, value=aspect_ratio[:20])
    return ratio


def fit_size(ratio: float, width: Parameter, height: Parameter) -> tuple[int, int]:
    """About one megapixel in ``ratio``, shrunk (keeping the ratio) to fit the maxima, in
    multiples of 64, then clamped into each side's range (to a multiple of 8 where the range
    holds one)."""
    ideal_width, ideal_height = math.sqrt(AREA * ratio), math.sqrt(AREA / ratio)
    shrink = min(
        1.0,
        (width.maximum or math.inf) / ideal_width,
        (height.maximum or math.inf) / ideal_height,
    )
    return (
        _clamp(round(ideal_width * shrink / STEP) * STEP, width),
        _clamp(round(ideal_height * shrink / STEP) * STEP, height),
    )


def _clamp(value: int, parameter: Parameter) -> int:
    low = parameter.minimum if parameter.minimum is not None else float(STEP)
    high = parameter.maximum if parameter.maximum is not None else math.inf
    low_8, high_8 = math.ceil(low / 8) * 8, (math.floor(high / 8) * 8 if high < math.inf else high)
    if low_8 <= high_8:
        low, high = low_8, high_8
    return int(min(high, max(low, value)))
