"""Files: uploads, URL fetches and file_ids resolved like Telegram, getFile and downloads."""

from __future__ import annotations

import io
import ipaddress
import mimetypes
import secrets
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp import web
from PIL import Image

from tests.fakes.telegram.core import EmulatorCore
from tests.fakes.telegram.errors import (
    DOWNLOAD_LIMIT,
    FILE_EMPTY,
    FILE_URL_LIMIT,
    IMAGE_PROCESS_FAILED,
    PHOTO_DIMENSIONS_LIMIT,
    PHOTO_INVALID_DIMENSIONS,
    PHOTO_RATIO_LIMIT,
    PHOTO_UPLOAD_LIMIT,
    PHOTO_URL_LIMIT,
    UPLOAD_LIMIT,
    URL_FAILED,
    URL_WRONG_TYPE,
    WRONG_FILE_ID,
    ApiError,
)
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import StoredFile, UploadedFile


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _inspect_image(data: bytes) -> tuple[int, int, str]:
    """(width, height, format) of an image Telegram would accept as a photo, else ApiError."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            fmt = (image.format or "jpeg").lower()
            image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ApiError(IMAGE_PROCESS_FAILED, per_item=True) from None
    if width < 1 or height < 1:
        raise ApiError(IMAGE_PROCESS_FAILED, per_item=True)
    if (
        width + height > PHOTO_DIMENSIONS_LIMIT
        or max(width, height) / min(width, height) > PHOTO_RATIO_LIMIT
    ):
        raise ApiError(PHOTO_INVALID_DIMENSIONS, per_item=True)
    return width, height, fmt


def _thumbnail(data: bytes, side: int) -> tuple[bytes, int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((side, side))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=80)
        return buffer.getvalue(), image.width, image.height


class Files(EmulatorCore):
    """Where photos and documents come from and how the bot gets them back."""

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            self.unauthorized_requests += 1
            return self._envelope(401, "Unauthorized")
        stored = self._file_paths.get(request.match_info["path"])
        if stored is None:
            return self._envelope(404, "Not Found")
        ctype = stored.mime_type or mimetypes.guess_type(stored.file_path)[0]
        return web.Response(body=stored.data, content_type=ctype or "application/octet-stream")

    def _store_file(self, data: bytes, kind: str, extension: str, **meta: Any) -> StoredFile:
        number = next(self._ids)
        prefix = "AgACAgIAAxkBAAI" if kind == "photo" else "BQACAgIAAxkBAAI"
        folder = "photos" if kind == "photo" else "documents"
        stored = StoredFile(
            file_id=f"{prefix}{secrets.token_urlsafe(40)}",
            file_unique_id=f"AQAD{secrets.token_urlsafe(10)}",
            data=data,
            file_path=f"{folder}/file_{number}.{extension}",
            kind=kind,
            **meta,
        )
        self.files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    def _store_photo(self, data: bytes) -> list[dict[str, Any]]:
        """Stores a photo as Telegram does: a few JPEG sizes plus the full one (kept as sent)."""
        width, height, fmt = _inspect_image(data)
        sizes = []
        for side in (90, 320, 800):
            if max(width, height) > side:
                thumb, w, h = _thumbnail(data, side)
                sizes.append(
                    self._store_file(
                        thumb, "photo", "jpg", width=w, height=h, mime_type="image/jpeg"
                    )
                )
        extension = {"jpeg": "jpg"}.get(fmt, fmt)
        mime = Image.MIME.get(fmt.upper(), "image/jpeg")
        sizes.append(
            self._store_file(data, "photo", extension, width=width, height=height, mime_type=mime)
        )
        group = [size.photo_size() for size in sizes]
        for size in sizes:
            self._photo_groups[size.file_id] = group
        return group

    def _store_document(
        self, data: bytes, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        name = file_name or "document"
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
        return self._store_file(data, "document", extension, file_name=name, mime_type=mime)

    async def _fetch_url(self, url: str, limit: int) -> tuple[bytes, str]:
        """What Telegram's servers would download from the URL; only loopback is reachable."""
        if "://" not in url:
            url = f"http://{url}"
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.url_fetch_timeout)
            )
        for _ in range(6):  # the first request and up to 5 redirects
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not _is_loopback(parts.hostname):
                raise ApiError(URL_FAILED, per_item=True)
            try:
                async with self._session.get(url, allow_redirects=False) as response:
                    if (
                        response.status in (301, 302, 303, 307, 308)
                        and "Location" in response.headers
                    ):
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if not 200 <= response.status < 300:
                        raise ApiError(URL_FAILED, per_item=True)
                    if (response.content_length or 0) > limit:
                        raise ApiError(URL_FAILED, per_item=True)
                    body = bytearray()
                    async for chunk in response.content.iter_chunked(64 * 1024):
                        body.extend(chunk)
                        if len(body) > limit:
                            raise ApiError(URL_FAILED, per_item=True)
                    return bytes(body), response.content_type
            except (aiohttp.ClientError, TimeoutError):
                raise ApiError(URL_FAILED, per_item=True) from None
        raise ApiError(URL_FAILED, per_item=True)

    async def _resolve_photo(
        self, source: UploadedFile | str | None
    ) -> tuple[list[dict[str, Any]], bytes]:
        """(PhotoSize list, bytes of the largest size) for an upload, URL or file_id."""
        if source is None:
            raise ApiError("Bad Request: there is no photo in the request")
        if isinstance(source, UploadedFile):
            size = len(source.data)
            if size == 0:
                raise ApiError(FILE_EMPTY)
            if size > UPLOAD_LIMIT:
                raise ApiError("Request Entity Too Large", 413)
            if size > PHOTO_UPLOAD_LIMIT:
                raise ApiError(
                    f"Bad Request: file of size {size} bytes is too big for a photo; "
                    f"the maximum size is {PHOTO_UPLOAD_LIMIT} bytes"
                )
            sizes = self._store_photo(source.data)
            return sizes, source.data
        if source in self.files:
            stored = self.files[source]
            if stored.kind != "photo":
                raise ApiError(
                    f"Bad Request: can't use file of type {stored.kind.title()} as Photo"
                )
            sizes = self._photo_groups[source]
            return sizes, self.files[sizes[-1]["file_id"]].data
        if "." in source or "://" in source:
            data, content_type = await self._fetch_url(source, PHOTO_URL_LIMIT)
            if not data or not content_type.startswith("image/"):
                raise ApiError(URL_WRONG_TYPE, per_item=True)
            return self._store_photo(data), data
        raise ApiError(WRONG_FILE_ID)

    async def _resolve_document(self, source: UploadedFile | str | None) -> StoredFile:
        if source is None:
            raise ApiError("Bad Request: there is no document in the request")
        if isinstance(source, UploadedFile):
            if not source.data:
                raise ApiError(FILE_EMPTY)
            if len(source.data) > UPLOAD_LIMIT:
                raise ApiError("Request Entity Too Large", 413)
            ctype = (
                source.content_type if source.content_type != "application/octet-stream" else None
            )
            return self._store_document(source.data, source.filename, ctype)
        if source in self.files:
            stored = self.files[source]
            if stored.kind != "document":
                raise ApiError(
                    f"Bad Request: can't use file of type {stored.kind.title()} as Document"
                )
            return stored
        if "." in source or "://" in source:
            data, content_type = await self._fetch_url(source, FILE_URL_LIMIT)
            if not data or content_type not in ("application/pdf", "application/zip", "image/gif"):
                raise ApiError(URL_WRONG_TYPE, per_item=True)
            name = urlsplit(source).path.rsplit("/", 1)[-1] or "file"
            return self._store_document(data, name, content_type)
        raise ApiError(WRONG_FILE_ID)

    async def _resolve_media(self, item: dict[str, Any], params: Params) -> dict[str, Any]:
        """StoredMessage content for one InputMedia (photo or document)."""
        raw = item.get("media")
        source: UploadedFile | str | None
        if isinstance(raw, str) and raw.startswith("attach://"):
            source = params.files.get(raw.removeprefix("attach://"))
            if source is None:
                raise ApiError("Bad Request: can't parse InputMedia: media not found")
        else:
            source = raw if isinstance(raw, str) and raw else None
            if source is None:
                raise ApiError("Bad Request: can't parse InputMedia: media not found")
        if item.get("type") == "photo":
            sizes, data = await self._resolve_photo(source)
            return {"photo_sizes": sizes, "photo": data, "document_info": None, "document": None}
        stored = await self._resolve_document(source)
        return {
            "photo_sizes": [],
            "photo": None,
            "document_info": stored.document(),
            "document": stored.data,
        }

    def _m_getFile(self, params: Params) -> dict[str, Any]:
        """file_path for any known file; download it at {root}/file/bot{token}/{file_path}."""
        stored = self.files.get(params.string("file_id") or "")
        if stored is None:
            raise ApiError("Bad Request: invalid file_id")
        if stored.file_size > DOWNLOAD_LIMIT:
            raise ApiError("Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }
