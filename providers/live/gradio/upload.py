"""Pictures into a Gradio app: uploaded first, then named in the call by their server paths.

``POST {app}/gradio_api/upload`` takes a multipart form with one ``files`` part per file and
answers the server paths, in order (``["/tmp/gradio/<hash>/picture1.png", ...]``). The call's
data then names each file as a FileData, ``{"path": <server path>, "orig_name": <file name>,
"meta": {"_type": "gradio.FileData"}}``, which is what ``gradio_client`` sends too; an app
hands a function only files uploaded to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from providers.core.errors import ErrorCode, ResponseError
from providers.core.media import image_extension, sniff_image_type
from providers.core.provider import ProviderContext
from providers.core.types import Media
from providers.live.gradio.info import PictureSlot


@dataclass(frozen=True)
class Uploaded:
    """One picture on the app's side: its server path and the file name it went up as."""

    path: str
    name: str

    def file_data(self) -> dict[str, Any]:
        """The picture as a call's data names a file."""
        return {"path": self.path, "orig_name": self.name, "meta": {"_type": "gradio.FileData"}}


def picture_name(index: int, picture: Media) -> str:
    """``picture<index>`` with the extension of the picture's type (``.png`` when unknown):
    the app reads the format from it, and the user's own file name never leaves the bot."""
    content_type = sniff_image_type(picture.data) or picture.content_type
    return f"picture{index}{image_extension(content_type, '.png')}"


async def upload(
    context: ProviderContext,
    root: str,
    pictures: Sequence[Media],
    *,
    label: str,
    headers: Mapping[str, str],
) -> list[Uploaded]:
    """Uploads ``pictures`` to the app at ``root`` in one request, bytes unchanged; returns
    where each one landed, in the same order.

    Raises ResponseError when the answer is not one server path per picture, and the HTTP
    layer's errors (a 413 for a file over the app's limit is a ResponseError too).
    """
    form = aiohttp.FormData()
    names = [picture_name(index, picture) for index, picture in enumerate(pictures, start=1)]
    for name, picture in zip(names, pictures, strict=True):
        content_type = sniff_image_type(picture.data) or picture.content_type
        form.add_field(
            "files", picture.data, filename=name, content_type=content_type or "image/png"
        )
    paths = await context.http.json(
        "POST", f"{root}/gradio_api/upload", provider=label, data=form, headers=dict(headers)
    )
    if (
        not isinstance(paths, list)
        or len(paths) != len(pictures)
        or not all(isinstance(path, str) and path for path in paths)
    ):
        raise ResponseError(ErrorCode.UNREADABLE_RESPONSE, provider=label)
    return [Uploaded(path, name) for path, name in zip(paths, names, strict=True)]


def slot_value(slot: PictureSlot, uploaded: Sequence[Uploaded]) -> Any:
    """What a picture parameter receives: the first FileData for ``one``, a list of them for
    ``list``, a list of ``{"image": FileData, "caption": None}`` for a ``gallery``."""
    if slot == "one":
        return uploaded[0].file_data()
    if slot == "list":
        return [item.file_data() for item in uploaded]
    return [{"image": item.file_data(), "caption": None} for item in uploaded]
