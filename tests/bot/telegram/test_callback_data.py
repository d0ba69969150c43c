"""Callback data classes: what pack() writes, unpack() reads back exactly; anything else
(forged, stale, too long) reads as None and never raises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import pytest

from bot.telegram.callback_data import LIMIT, MAX_INT, CallbackData, patterns


@dataclass(frozen=True)
class Pick(CallbackData):
    prefix: ClassVar[str] = "pk"

    item: int
    name: str


@dataclass(frozen=True)
class Shot(CallbackData):
    prefix: ClassVar[str] = "sh"

    job: int
    action: str
    picture: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Counted(CallbackData):
    prefix: ClassVar[str] = "ct"

    job: int
    index: int = 0

    def __post_init__(self) -> None:
        if self.index > 9:
            raise ValueError(f"no picture {self.index}")


@dataclass(frozen=True)
class Setting(CallbackData):
    prefix: ClassVar[str] = "st"
    tail: ClassVar[bool] = True

    name: str
    value: str | None = None


@dataclass(frozen=True)
class Stop(CallbackData):
    prefix: ClassVar[str] = "inline:stop"


@dataclass(frozen=True)
class Page(CallbackData):
    prefix: ClassVar[str] = "m:t"

    tab: int
    page: int


@pytest.mark.parametrize(
    ("button", "data"),
    [
        (Pick(7, "ask"), "pk:7:ask"),
        (Pick(0, "ру"), "pk:0:ру"),
        (Shot(1, "a"), "sh:1:a"),
        (Shot(1, "d", 0), "sh:1:d:0"),
        (Shot(MAX_INT, "d", 9, "x"), f"sh:{MAX_INT}:d:9:x"),
        (Counted(5), "ct:5"),
        (Counted(5, 3), "ct:5:3"),
        (Setting("reset"), "st:reset"),
        (Setting("ar", "16:9"), "st:ar:16:9"),
        (Stop(), "inline:stop"),
        (Page(2, 11), "m:t:2:11"),
    ],
)
def test_pack_writes_the_data_and_unpack_reads_it_back(button: CallbackData, data: str) -> None:
    assert button.pack() == data
    assert type(button).unpack(data) == button


def test_a_trailing_field_at_its_default_is_left_out_and_read_back_as_the_default() -> None:
    assert Counted(5, 0).pack() == "ct:5"
    assert Counted.unpack("ct:5") == Counted(5, 0)
    assert Counted.unpack("ct:5:0") == Counted(5, 0)  # written out, it still means the same
    assert Shot.unpack("sh:1:a") == Shot(1, "a", None, None)
    assert Shot.unpack("sh:1:a:4") == Shot(1, "a", 4, None)


def test_a_none_before_a_set_field_cannot_be_packed() -> None:
    with pytest.raises(ValueError, match="None"):
        Shot(1, "a", None, "x").pack()


def test_data_over_64_bytes_is_refused_when_packed_and_when_read() -> None:
    fits = Pick(1, "x" * (LIMIT - len("pk:1:")))
    assert len(fits.pack().encode()) == LIMIT
    with pytest.raises(ValueError, match="64 bytes"):
        Pick(1, "x" * (LIMIT - len("pk:1:") + 1)).pack()
    with pytest.raises(ValueError, match="64 bytes"):
        Pick(1, "я" * 30).pack()  # 60 bytes of UTF-8, not 30
    assert Pick.unpack("pk:1:" + "x" * 60) is None


def test_values_a_field_cannot_hold_are_refused_when_packed() -> None:
    for button in (Pick(1, "a:b"), Pick(1, ""), Pick(-1, "a"), Pick(MAX_INT + 1, "a")):
        with pytest.raises(ValueError):
            button.pack()
    for wrong in (Pick("1", "a"), Pick(True, "a"), Pick(1, 2)):  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            wrong.pack()
    with pytest.raises(ValueError, match="no picture"):
        Counted(1, 10)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "pk",
        "pk:",
        "pk:1",
        "pk:1:",
        "pk::a",
        "pk:x:a",
        "pk:-1:a",
        "pk:+1:a",
        "pk: 1:a",
        "pk:01:a",
        "pk:1_0:a",
        "pk:١:a",  # an Arabic-Indic digit: decimal to Python, not to us
        f"pk:{MAX_INT + 1}:a",
        "pk:1:a:b",
        "pkx:1:a",
        "px:1:a",
        "sh:1:a:4:x:y",
        "sh:1:a::x",
        "ct:5:10",  # __post_init__ refuses it
        "ct:5:z",
        "inline:stop:now",
        "inline",
        "m:t",
        "m:t:x:y",
        "m:1:2",
    ],
)
def test_forged_or_stale_data_reads_as_none(data: str | None) -> None:
    for kind in (Pick, Shot, Counted, Setting, Stop, Page):
        assert kind.unpack(data) is None


def test_only_the_last_field_of_a_tail_class_takes_separators() -> None:
    assert Setting.unpack("st:ar:16:9") == Setting("ar", "16:9")
    assert Setting.unpack("st:ar") == Setting("ar")
    assert Setting.unpack("st:") is None
    with pytest.raises(ValueError):
        Setting("a:r", "1").pack()


def test_the_pattern_matches_the_prefix_and_only_it() -> None:
    assert re.match(Pick.pattern(), "pk:1:a")
    assert re.match(Pick.pattern(), "pk")
    assert not re.match(Pick.pattern(), "pkx:1:a")
    assert not re.match(Pick.pattern(), "p:1")
    assert re.match(Stop.pattern(), "inline:stop")
    assert not re.match(Stop.pattern(), "inline:stopped")
    both = patterns(Pick, Page)
    assert re.match(both, "m:t:1:2") and re.match(both, "pk:1:a")
    assert not re.match(both, "m:s:1")


def test_a_class_needs_a_prefix_and_int_or_str_fields() -> None:
    with pytest.raises(TypeError, match="prefix"):

        class Nameless(CallbackData):
            pass

    @dataclass(frozen=True)
    class Floaty(CallbackData):
        prefix: ClassVar[str] = "f"

        value: float

    with pytest.raises(TypeError, match="int or str"):
        Floaty(1.0).pack()
