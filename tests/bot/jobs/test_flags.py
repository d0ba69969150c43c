"""Parsing /imagine arguments: what users type, and the replies they get for mistakes."""

from __future__ import annotations

import pytest

from bot.jobs.flags import FlagError, parse_imagine


def test_prompt_with_every_flag_anywhere() -> None:
    args = parse_imagine(
        "a cat's hat --ar 16:9 in the rain --n 2 --seed 42 --no blurry, ugly hands --steps 20 "
        "--cfg 4.5 --model sd-3.5"
    )
    assert args.prompt == "a cat's hat in the rain"
    assert (args.aspect_ratio, args.n, args.seed) == ("16:9", 2, 42)
    assert args.negative_prompt == "blurry, ugly hands"
    assert (args.steps, args.cfg, args.model) == (20, 4.5, "sd-3.5")


def test_phone_dashes_equals_signs_and_aliases() -> None:
    args = parse_imagine("fox —ar 3x2 –count=3 --guidance=7,5 --m arta/flux")
    assert (args.prompt, args.aspect_ratio, args.n, args.cfg, args.model) == (
        "fox",
        "3:2",
        3,
        7.5,
        "arta/flux",
    )


def test_plain_prompt_leaves_options_unset() -> None:
    args = parse_imagine("  a lighthouse at dawn  ")
    assert args.prompt == "a lighthouse at dawn"
    assert args.n is None and args.seed is None and args.aspect_ratio is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Tell me what to draw"),
        ("--n 2", "Tell me what to draw"),
        ("fox --n", "--n needs a value"),
        ("fox --n two", "number of images"),
        ("fox --n 0", "number of images"),
        ("fox --n 11", "number of images"),
        ("fox --seed -1", "--seed"),
        ("fox --ar wide", "W:H"),
        ("fox --ar 0:1", "zero"),
        ("fox --cfg lots", "--cfg"),
        ("fox --size 5", "Unknown option --size"),
        ("fox --n 1 --n 2", "twice"),
    ],
)
def test_mistakes_get_a_reason(text: str, reason: str) -> None:
    with pytest.raises(FlagError, match=reason):
        parse_imagine(text)
