"""Reading Gradio results: which output is the picture and which the seed (shared with SD 3.5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers import RateLimited, ResponseError
from providers.live.gradio.call import parse_error, parse_result

ROOT = "https://s.test"
FILE = {"path": "/tmp/gradio/a.webp", "url": "https://s.test/gradio_api/file=/tmp/gradio/a.webp"}
URL = FILE["url"]


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        ([FILE, 7], (URL, 7)),
        ([7, FILE], (URL, 7)),  # the seed beside the picture, whichever side
        (["a caption", FILE, 7.0], (URL, 7)),
        ([FILE, 7, 8], (URL, None)),  # two numbers: neither is known to be the seed
        ([FILE, 3.5], (URL, None)),  # not a whole number
        ([FILE, True], (URL, None)),  # a checkbox, not a number
        ([[{"image": FILE, "caption": None}, {"image": {"url": "x"}}], 3], (URL, 3)),  # gallery
        ([None, {"path": "/tmp/b.png", "url": None}], (f"{ROOT}/gradio_api/file=/tmp/b.png", None)),
    ],
)
def test_the_first_picture_and_the_only_number(outputs: Any, expected: Any) -> None:
    assert parse_result(json.dumps(outputs), ROOT, "app") == expected


@pytest.mark.parametrize("outputs", [["text only", 5], [[], 5], [{"caption": "x"}]])
def test_a_result_without_a_picture(outputs: Any) -> None:
    with pytest.raises(ResponseError, match="sent a result without an image") as caught:
        parse_result(json.dumps(outputs), ROOT, "app")
    assert caught.value.user_message == "app: sent a result without an image"


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ('{"error": "Value 30 is greater than maximum value 8.", "title": "Error"}',
         ResponseError, "failed: Value 30 is greater than maximum value 8."),
        ('{"error": "No GPU was available", "title": "ZeroGPU quota exceeded"}',
         RateLimited, "is out of GPU quota: No GPU was available"),
        ('{"error": null}', ResponseError, "failed (wrong inputs or an error in the Space)"),
        ("<html>", ResponseError, "reported an error we could not read"),
    ],
)  # fmt: skip
def test_error_events(data: str, error: type[Exception], message: str) -> None:
    found = parse_error(data, "app")
    assert type(found) is error and str(found) == message
