"""Callback data as small typed classes: ``pack()`` writes a button's data, ``unpack()`` reads
a press back, and ``pattern()`` routes it to its handler.

A kind of button is a frozen dataclass with a ``prefix`` and fields of type ``int`` or ``str``::

    @dataclass(frozen=True)
    class Press(CallbackData):
        prefix: ClassVar[str] = "r"

        job_id: int
        action: str
        index: int = 0

``Press(5, "d", 2).pack() == "r:5:d:2"`` and ``Press.unpack("r:5:d:2") == Press(5, "d", 2)``.

- Fields are written in order after the prefix, separated by ``:``. Fields with a default are
  optional: trailing ones equal to their default are left out (``Press(5, "a").pack() ==
  "r:5:a"``) and read back as the default. ``None`` (as in ``picture: int | None = None``) can
  only be left out, so a field after it must be left out too.
- ``int`` fields are written as plain decimals, 0 to 2**63 - 1 (a database integer); ``str``
  fields are not empty and hold no ``:``, except the last one of a class with
  ``tail = True``, which takes the rest of the data (``set:ar:16:9``).
- The packed data is 1-64 bytes of UTF-8 (Telegram's limit): ``pack()`` raises ValueError
  otherwise, as it does for a value a field cannot hold.
- ``unpack()`` never raises: anything that ``pack()`` could not have written (another prefix,
  a missing or extra field, "x" or "-1" or "01" where a number goes, over 64 bytes) is None,
  and so is whatever the class's ``__post_init__`` refuses with ValueError. Data from Telegram
  may be old or forged, so a class checks its own values there (an action it knows, an index
  in range).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self, cast

SEPARATOR = ":"
LIMIT = 64  # bytes of callback_data Telegram takes
MAX_INT = 2**63 - 1  # a forged number still fits a database integer


@dataclass(frozen=True)
class _Field:
    name: str
    kind: type[int] | type[str]
    optional: bool
    default: Any


class CallbackData:
    """The base of a kind of button data; see the module's docs."""

    prefix: ClassVar[str]
    tail: ClassVar[bool] = False  # the last str field takes the rest, separators included

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        prefix = cls.__dict__.get("prefix")
        if not isinstance(prefix, str) or not prefix or prefix.strip(SEPARATOR) != prefix:
            raise TypeError(f"{cls.__name__} needs a prefix: ClassVar[str]")

    def pack(self) -> str:
        """The callback data of this button: ``prefix:field:field``."""
        fields = _fields(type(self))
        values = [getattr(self, f.name) for f in fields]
        while values and fields[len(values) - 1].optional:
            if values[-1] != fields[len(values) - 1].default:
                break
            values.pop()
        parts = [self.prefix]
        for i, (f, value) in enumerate(zip(fields, values, strict=False)):
            rest = self.tail and i == len(fields) - 1
            parts.append(_write(type(self), f, value, rest))
        data = SEPARATOR.join(parts)
        if len(data.encode()) > LIMIT:
            raise ValueError(f"callback data over {LIMIT} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str | None) -> Self | None:
        """The button ``data`` stands for, or None when this class could not have packed it."""
        if not isinstance(data, str) or len(data.encode()) > LIMIT:
            return None
        if data == cls.prefix:
            texts: list[str] = []
        elif data.startswith(cls.prefix + SEPARATOR):
            fields = _fields(cls)
            rest = data[len(cls.prefix) + 1 :]
            texts = rest.split(SEPARATOR, len(fields) - 1 if cls.tail and fields else -1)
        else:
            return None
        fields = _fields(cls)
        required = sum(not f.optional for f in fields)
        if not required <= len(texts) <= len(fields):
            return None
        values: list[int | str] = []
        for f, text in zip(fields, texts, strict=False):
            value = _read(f, text)
            if value is None:
                return None
            values.append(value)
        try:
            return cast("Callable[..., Self]", cls)(*values)
        except (ValueError, TypeError):
            return None

    @classmethod
    def pattern(cls) -> str:
        """The regex for ``CallbackQueryHandler(pattern=...)``: data with this class's prefix."""
        return rf"^{re.escape(cls.prefix)}(?:{re.escape(SEPARATOR)}|$)"


def patterns(*kinds: type[CallbackData]) -> str:
    """One regex for a handler that takes the presses of several kinds of buttons."""
    return "|".join(f"(?:{kind.pattern()})" for kind in kinds)


_FIELDS: dict[type[CallbackData], tuple[_Field, ...]] = {}


def _fields(cls: type[CallbackData]) -> tuple[_Field, ...]:
    """The fields of ``cls`` in order, with their types checked (a class that is not a
    dataclass, or has a field of another type, is a TypeError)."""
    if cls not in _FIELDS:
        _FIELDS[cls] = _read_fields(cls)
    return _FIELDS[cls]


def _read_fields(cls: type[CallbackData]) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cast(Any, cls)):  # a TypeError if cls is no dataclass
        hint = hints[f.name]
        allowed = {hint}
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            allowed = set(typing.get_args(hint)) - {type(None)}
        if len(allowed) != 1 or not allowed <= {int, str}:
            raise TypeError(f"{cls.__name__}.{f.name}: a field is int or str (or None)")
        optional = f.default is not dataclasses.MISSING
        found.append(_Field(f.name, allowed.pop(), optional, f.default if optional else None))
    return tuple(found)


def _write(cls: type[CallbackData], f: _Field, value: object, rest: bool) -> str:
    where = f"{cls.__name__}.{f.name}"
    if value is None:
        raise ValueError(f"{where} is None but a field after it is set")
    if f.kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{where} must be an int, not {value!r}")
        if not 0 <= value <= MAX_INT:
            raise ValueError(f"{where} must be 0 to {MAX_INT}, not {value}")
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"{where} must be a str, not {value!r}")
    if not value or (SEPARATOR in value and not rest):
        raise ValueError(f"{where} must be a non-empty text without {SEPARATOR!r}: {value!r}")
    return value


def _read(f: _Field, text: str) -> int | str | None:
    """A field's value from its text, or None when pack() could not have written that text."""
    if not text:
        return None
    if f.kind is str:
        return text
    if not (text.isascii() and text.isdecimal()) or (text[0] == "0" and text != "0"):
        return None
    number = int(text)
    return number if number <= MAX_INT else None
