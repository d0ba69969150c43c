"""A loopback emulator of Telegram's Bot API for end-to-end tests.

Point python-telegram-bot at it exactly as at a local Bot API server::

    async with BotApiEmulator() as tg:
        # the bot under test: TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_URL=tg.url
        # (methods at {tg.url}/bot{token}/{method}, files at {tg.url}/file/bot{token}/{path})
        tg.send_text(42, "/imagine a red fox")  # a user writes to the bot (an update)
        sent = await tg.wait_for(lambda: tg.bot_messages(42))
        assert sent[-1].photo is not None

What it speaks
    * Requests as python-telegram-bot 22 sends them: ``application/x-www-form-urlencoded`` or
      ``multipart/form-data`` where complex fields (``reply_markup``, ``media``, ``entities``,
      ``reply_parameters``...) are JSON strings and uploads are parts (a part named after the
      parameter, or ``attach://<part>`` inside ``media``). JSON bodies and query strings work too.
    * The real envelope: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
      "description": "...", "parameters": {"retry_after": N}}``, Telegram's own error texts
      (researched from TDLib/telegram-bot-api sources and bug reports; see the constants below).
    * Text formatting: MarkdownV2 and HTML are parsed like TDLib does (plain text + entities, the
      same "can't parse entities" errors); legacy Markdown roughly. Text is trimmed, then limited.

Flood limits (off by default; ``tg.flood_limits = True``), see :class:`FloodPolicy`
    Counted calls: every send*/edit*/copy/forward call (message drafts too), counted when it
    arrives, whatever its outcome (a media group is one call). Deletes, chat actions and
    callback answers are free.
    * any chat, private or group: a token bucket of 3 with a refill of 1 per second, i.e.
      a burst of 3 then 1 a second;
    * group or supergroup (chat id < 0), besides: at most 20 in any 60 seconds (sliding window);
    * overall: at most 30 in any 1 second (sliding window).
    Past a limit the call is refused with 429 ``Too Many Requests: retry after N`` where N is the
    whole seconds until the call would have been allowed (at least 1), and nothing is consumed.
    The clock is ``tg.clock`` (``time.monotonic``); tests replace it to move time without sleeping.

Forum topics (``add_chat(..., is_forum=True)``)
    A topic's id (message_thread_id) is the id of the service message that opened it
    (``add_topic`` or createForumTopic). Messages in a topic carry ``message_thread_id`` and
    ``is_topic_message``, and, when they reply to nothing, ``reply_to_message`` is the topic's
    creation message, as Telegram sends them. A bot message goes to the topic named by
    ``message_thread_id`` (unknown: "message thread not found"), else to the topic of the
    message it replies to, else to General; so a reply whose message is gone
    (allow_sending_without_reply) lands in General unless the topic is named. Outside topics,
    a reply in a supergroup carries the root of its reply chain as message_thread_id (without
    is_topic_message), as Telegram does. ``StoredMessage.topic`` says where a message is.

Test-side API (all synchronous unless marked async)
    setup:     ``add_chat``, ``add_user``, ``add_topic``, ``set_member_status``,
               ``user_blocks_bot`` (both tell the bot by a my_chat_member update),
               ``fail_next``, ``slow_next``, ``hold``/``release``/``held``, ``flood_limits``,
               ``flood_policy``, ``clock``, ``migrate_group``, ``inline_mode``,
               ``inline_feedback``
    injection: ``send_text``, ``send_photo``, ``send_document`` (``thread_id=`` for a topic),
               ``press_button``, ``user_deletes``, ``send_inline_query``,
               ``choose_inline_result``, ``press_inline_button``
    observing: ``bot_messages``, ``messages`` (``topic=`` filters), ``message``, ``topics``,
               ``calls``, ``callback_answers``, ``drafts``, ``drafts_in``, ``commands``,
               ``my_commands``, ``files``,
               ``file_bytes``, ``chat_actions`` (and ``chat_action_topics``),
               ``pending_updates``, ``too_many_requests_sent``, ``inline_answers``,
               ``inline_answer``, ``inline_message``

Inline mode (``tg.inline_mode = True``, as /setinline in @BotFather)
    ``send_inline_query`` makes an ``inline_query`` update; ``answerInlineQuery`` is checked
    (at most 50 results, ids of 1-64 bytes and unique, an article needs a title and a message
    text, only inline keyboards, the ``button``) and recorded in ``inline_answers``.
    ``choose_inline_result`` puts the chosen article in a chat as the user's message ``via_bot``;
    it gets an ``inline_message_id`` only when the result has a keyboard (Telegram's rule) and,
    with ``tg.inline_feedback = True`` (/setinlinefeedback), a ``chosen_inline_result`` update.
    Edits by ``inline_message_id`` answer True instead of a Message, and ``editMessageMedia``
    refuses an upload there, as Telegram does (a file_id or URL is needed).
    waiting:   async ``wait_for``, ``wait_for_call``, ``wait_for_bot_message``
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import enum
import io
import ipaddress
import itertools
import json
import math
import mimetypes
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp
import telegram
from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeServer

T = TypeVar("T")


class Anywhere(enum.Enum):
    """The default of the ``topic`` filters: messages in any topic and in General."""

    ANYWHERE = "anywhere"


ANYWHERE = Anywhere.ANYWHERE

# --------------------------------------------------------------------------------------------
# Limits and Telegram's texts
# --------------------------------------------------------------------------------------------

MiB = 1024 * 1024
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes, UTF-8
ALBUM_LIMIT = 10
PHOTO_UPLOAD_LIMIT = 10 * MiB
PHOTO_URL_LIMIT = 5 * MiB
FILE_URL_LIMIT = 20 * MiB
UPLOAD_LIMIT = 50 * MiB  # api.telegram.org refuses bigger requests with 413
DOWNLOAD_LIMIT = 20 * MiB  # getFile refuses bigger files
PHOTO_DIMENSIONS_LIMIT = 10000  # width + height
PHOTO_RATIO_LIMIT = 20

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
NOT_A_FORUM = "Bad Request: the chat is not a forum"
TOPIC_RIGHTS = "Bad Request: not enough rights to create a topic"
CHAT_NOT_FOUND = "Bad Request: chat not found"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
EDIT_TOO_LONG = "Bad Request: MESSAGE_TOO_LONG"
# Drafts are a chat action underneath (TDLib's sendTextMessageDraft -> messages.setTyping), so
# their refusals are MTProto's: a chat that is not a private one, and (assumed: the draft id
# travels as the action's random_id) a zero draft_id.
DRAFT_PEER_INVALID = "Bad Request: TEXTDRAFT_PEER_INVALID"
DRAFT_ID_INVALID = "Bad Request: RANDOM_ID_INVALID"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
BUTTON_URL_INVALID = "Bad Request: BUTTON_URL_INVALID"
BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
URL_FAILED = "Bad Request: failed to get HTTP URL content"
URL_WRONG_TYPE = "Bad Request: wrong type of the web page content"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
IMAGE_PROCESS_FAILED = "Bad Request: IMAGE_PROCESS_FAILED"
PHOTO_INVALID_DIMENSIONS = "Bad Request: PHOTO_INVALID_DIMENSIONS"
FILE_EMPTY = "Bad Request: file must be non-empty"
ALBUM_EMPTY = "Bad Request: there are no messages to send"
ALBUM_TOO_BIG = "Bad Request: too many messages to send as an album"
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
INLINE_MESSAGE_INVALID = "Bad Request: MESSAGE_ID_INVALID"
# What TDLib answers when an inline message is edited to a file that is not on Telegram yet.
INLINE_UPLOAD_REFUSED = "Bad Request: invalid message content specified"
INLINE_RESULTS_LIMIT = 50
RESULT_ID_LIMIT = 64  # bytes
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
BLOCKED = "Forbidden: bot was blocked by the user"

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
# Update types delivered when allowed_updates was never set (or set to []): Telegram's
# default leaves out only chat_member and reactions, of the types the emulator makes.
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
        "inline_query",
        "chosen_inline_result",
    }
)
TOPIC_COLORS = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)
# Calls that produce or edit a message: the ones flood control counts.
FLOOD_COUNTED = frozenset(
    m.lower()
    for m in [
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendAnimation",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
        # Telegram does not say whether drafts count; counting them keeps the bot honest.
        "sendMessageDraft",
    ]
)
# Parameters decoded for Call.params (form values are strings on the wire).
JSON_FIELDS = frozenset(
    [
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "media",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "message_ids",
        "results",
        "button",
    ]
)
INT_FIELDS = frozenset(
    [
        "message_id",
        "user_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "cache_time",
        "message_thread_id",
        "draft_id",
    ]
)
BOOL_FIELDS = frozenset(
    [
        "disable_notification",
        "protect_content",
        "show_alert",
        "allow_sending_without_reply",
        "drop_pending_updates",
        "has_spoiler",
        "show_caption_above_media",
        "disable_web_page_preview",
        "is_personal",
    ]
)


class ApiError(Exception):
    """An error answer of the Bot API (raised inside method handlers)."""

    def __init__(
        self,
        description: str,
        error_code: int = 400,
        *,
        retry_after: int | None = None,
        per_item: bool = False,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id
        # Failures Telegram's servers report per album item ("failed to send message #N ...").
        self.per_item = per_item


# --------------------------------------------------------------------------------------------
# Records the tests read
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part of a request."""

    name: str
    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"UploadedFile({self.name!r}, {self.filename!r}, {len(self.data)} bytes)"


@dataclass
class Call:
    """One Bot API call the emulator handled (recorded before it is processed)."""

    method: str  # as sent, e.g. "sendMessage"
    params: dict[str, Any]  # decoded: JSON fields parsed, ids as ints
    files: dict[str, UploadedFile]
    time: float  # time.monotonic() on arrival
    status: int = 0  # HTTP status of the answer (0 while still being handled)
    ok: bool = False
    result: Any = None
    error: str | None = None  # the description of an error answer
    retry_after: int | None = None

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value)
        return value if isinstance(value, int | str) else None

    def summary(self, start: float = 0.0) -> str:
        shown = {k: _shorten(v) for k, v in self.params.items()}
        for name, upload in self.files.items():
            shown[name] = f"<upload {len(upload.data)} bytes>"
        args = " ".join(f"{k}={v}" for k, v in shown.items())
        outcome = "ok" if self.ok else f"{self.status} {self.error}"
        return f"{self.time - start:+8.3f}s {self.method} {args} -> {outcome}"


@dataclass
class StoredFile:
    """A file the emulator knows: uploaded by the bot, fetched by URL, or sent by a user."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str  # "photo" | "document"
    width: int = 0
    height: int = 0
    mime_type: str | None = None
    file_name: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)

    def photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.file_size,
        }

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc


@dataclass(frozen=True)
class Version:
    """One state of a message's content; ``StoredMessage.history[0]`` is the message as sent."""

    text: str | None
    caption: str | None
    entities: tuple[dict[str, Any], ...]
    reply_markup: dict[str, Any] | None
    photo_file_id: str | None
    edit_date: int | None
    at: float  # time.monotonic()


@dataclass(eq=False)
class StoredMessage:
    """A message in a chat, sent by the bot or injected as a user's.

    Read attributes (``msg.text``) or index it like a dict (``msg["text"]``).
    ``photo``/``document`` hold the bytes (of the largest photo size); ``reply_to`` is the id of
    the message it replies to; ``history`` holds every version, the first as sent.
    ``topic`` is the forum topic it is in (its message_thread_id), None in General or outside
    forums.
    """

    chat_id: int
    message_id: int
    from_bot: bool
    sender: dict[str, Any]
    date: int
    text: str | None = None
    caption: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)  # of the text or the caption
    photo_sizes: list[dict[str, Any]] = field(default_factory=list)
    photo: bytes | None = None
    document_info: dict[str, Any] | None = None
    document: bytes | None = None
    media_group_id: str | None = None
    has_spoiler: bool = False  # a photo hidden behind a spoiler
    show_caption_above_media: bool = False
    reply_to: int | None = None
    reply_markup: dict[str, Any] | None = None
    edit_date: int | None = None
    deleted: bool = False
    deleted_by: str | None = None  # "bot" | "user"
    history: list[Version] = field(default_factory=list)
    topic: int | None = None  # the forum topic's message_thread_id; None = General / no forum
    reply_thread: int | None = None  # outside topics: the root of the reply chain (supergroups)
    forum_topic_created: dict[str, Any] | None = None  # the service message opening a topic
    via_bot: dict[str, Any] | None = None  # sent by a user through a bot's inline mode
    inline_message_id: str | None = None  # such a message the bot can edit (it had a keyboard)

    @property
    def kind(self) -> str:
        if self.forum_topic_created is not None:
            return "service"
        if self.photo_sizes:
            return "photo"
        if self.document_info is not None:
            return "document"
        return "text"

    @property
    def content(self) -> str | None:
        """The text or, for media, the caption."""
        return self.text if self.text is not None else self.caption

    @property
    def edits(self) -> int:
        return max(0, len(self.history) - 1)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def photo_file_id(self) -> str | None:
        return self.photo_sizes[-1]["file_id"] if self.photo_sizes else None

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def snapshot(self, at: float) -> Version:
        return Version(
            self.text,
            self.caption,
            tuple(self.entities),
            self.reply_markup,
            self.photo_file_id,
            self.edit_date,
            at,
        )

    def __repr__(self) -> str:
        flags = "".join(
            [
                f" group={self.media_group_id}" if self.media_group_id else "",
                f" topic={self.topic}" if self.topic is not None else "",
                f" reply_to={self.reply_to}" if self.reply_to else "",
                f" edits={self.edits}" if self.edits else "",
                f" buttons={len(self.buttons)}" if self.buttons else "",
                f" deleted_by={self.deleted_by}" if self.deleted else "",
            ]
        )
        who = "bot" if self.from_bot else f"user {self.sender.get('id')}"
        return (
            f"<{self.kind} #{self.message_id} in {self.chat_id} from {who}: "
            f"{_shorten(self.content)}{flags}>"
        )


@dataclass(frozen=True)
class Draft:
    """One sendMessageDraft the emulator took: a private chat's growing message, as shown."""

    chat_id: int
    draft_id: int
    text: str  # "" is Telegram's "Thinking…" placeholder
    entities: tuple[dict[str, Any], ...]
    thread_id: int | None
    at: float  # time.monotonic()


@dataclass
class CallbackAnswer:
    """What the bot answered to a button press (answerCallbackQuery)."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    time: float
    chat_id: int | None = None
    message_id: int | None = None
    data: str | None = None
    inline_message_id: str | None = None


@dataclass
class _CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    pressed_at: float
    answered: bool = False
    inline_message_id: str | None = None


@dataclass
class InlineAnswer:
    """What the bot answered to an inline query (answerInlineQuery), checked like Telegram."""

    inline_query_id: str
    results: list[dict[str, Any]]
    cache_time: int
    is_personal: bool
    next_offset: str
    button: dict[str, Any] | None
    time: float

    def result(self, result_id: str) -> dict[str, Any]:
        for result in self.results:
            if result["id"] == result_id:
                return result
        raise KeyError(f"no result {result_id!r} among {[r['id'] for r in self.results]}")


@dataclass
class _InlineQuery:
    id: str
    user_id: int
    query: str
    answer: InlineAnswer | None = None
    texts: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)  # by result


@dataclass
class _Failure:
    error_code: int
    description: str
    retry_after: int | None
    times: int
    delay: float = 0.0  # seconds before answering (a slow call), then the call works
    migrate_to_chat_id: int | None = None


@dataclass
class _Hold:
    """Calls of a method wait here until the test releases them (or the emulator stops)."""

    released: asyncio.Event = field(default_factory=asyncio.Event)
    drop: bool = False  # released calls fail with 500 and change nothing (never "arrived")
    waiting: int = 0


@dataclass
class _Chat:
    info: dict[str, Any]  # the Chat object
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)  # thread id -> ForumTopic

    @property
    def id(self) -> int:
        return int(self.info["id"])

    @property
    def type(self) -> str:
        return str(self.info["type"])

    @property
    def is_forum(self) -> bool:
        return bool(self.info.get("is_forum"))


# --------------------------------------------------------------------------------------------
# Request decoding
# --------------------------------------------------------------------------------------------


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Splits a multipart/form-data body into text fields and file parts."""
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ApiError("Bad Request: can't parse multipart/form-data: no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        return {}, {}
    fields: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for chunk in body[start + len(delimiter) :].split(b"\r\n" + delimiter):
        if chunk.startswith(b"--"):
            break
        raw_headers, sep, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        part = email.message.Message()
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            part[key.strip()] = value.strip()
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        if not isinstance(name, str):
            continue
        if filename is not None:
            files[name] = UploadedFile(
                name, filename, part.get_content_type() or "application/octet-stream", content
            )
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


def _decode_value(name: str, value: Any) -> Any:
    """Form values are strings; give tests the values the bot meant."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    elif name in INT_FIELDS or name == "chat_id":
        with contextlib.suppress(ValueError):
            return int(value)
    elif name in BOOL_FIELDS:
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
    return value


class Params:
    """The decoded parameters of one call, with typed accessors that raise Telegram's errors."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.files

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def number(self, name: str, default: float) -> float:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, error: str) -> Any:
        """A JSON-encoded field (still a string when it did not parse)."""
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(error) from None
        return value

    def file(self, name: str) -> UploadedFile | str | None:
        """An InputFile parameter: an upload part, ``attach://`` reference, URL or file_id."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.files.get(value.removeprefix("attach://"))
        return value if isinstance(value, str) and value else None


# --------------------------------------------------------------------------------------------
# Text formatting: entities, MarkdownV2, HTML, legacy Markdown
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class _ParseError(Exception):
    pass


class _Builder:
    """Accumulates parsed text while tracking its UTF-16 length."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.u16 += utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        (e for e in entities if e["length"] > 0), key=lambda e: (e["offset"], -e["length"])
    )


def _normalize_url(url: str) -> str | None:
    """What Telegram keeps of a link's URL (None: the link is dropped)."""
    url = url.strip()
    if not url:
        return None
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        scheme = url.split(":", 1)[0].lower()
        if scheme in ("http", "https", "ftp", "tg", "ton", "tonsite"):
            return url
        return None
    host = re.split(r"[/?#]", url, maxsplit=1)[0]
    if "." not in host or host.startswith(".") or host.endswith("."):
        return None
    rest = url[len(host) :]
    return f"http://{host}{rest if rest.startswith('/') else '/' + rest}"


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _Open:
    kind: str
    offset: int  # UTF-16 offset in the result
    index: int  # index of the opening marker in the source
    argument: str = ""


def _mdv2_end(kind: str | None, text: str, i: int) -> int:
    """How many characters at text[i] end the innermost MarkdownV2 entity (0: none)."""
    c, nxt = text[i], text[i + 1 : i + 2]
    if kind in ("bold", "strikethrough", "code", "text_link", "custom_emoji"):
        closing = {"bold": "*", "strikethrough": "~", "code": "`"}.get(kind, "]")
        return 1 if c == closing else 0
    if kind == "italic":
        return 1 if c == "_" and nxt != "_" else 0
    if kind == "underline":
        return 2 if c == "_" and nxt == "_" else 0
    if kind == "spoiler":
        return 2 if c == "|" and nxt == "|" else 0
    if kind in ("pre", "pre_code"):
        return 3 if text.startswith("```", i) else 0
    return 0


def _mdv2_link_target(text: str, i: int, kind: str) -> tuple[str, int]:
    """The (URL) after a link's text: text[i] is '('; only ')' and '\\' are escaped in it."""
    j = i + 1
    chars: list[str] = []
    while j < len(text) and text[j] != ")":
        if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in ")\\":
            j += 1
        chars.append(text[j])
        j += 1
    if j >= len(text):
        what = "a custom emoji URL" if kind == "custom_emoji" else "a URL"
        raise _ParseError(f"Can't find end of {what} at byte offset {_byte_offset(text, i + 1)}")
    return "".join(chars), j + 1


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parses MarkdownV2 like TDLib's parse_markdown_v2: plain text + entities, or _ParseError."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    quote: dict[str, Any] | None = None  # offset, depth, expandable
    n = len(text)
    i = 0

    def fail_unclosed(entry: _Open) -> _ParseError:
        return _ParseError(
            f"Can't find end of {_MDV2_NAMES[entry.kind]} entity at byte offset "
            f"{_byte_offset(text, entry.index)}"
        )

    def close_quote() -> None:
        nonlocal quote
        assert quote is not None
        if len(stack) > quote["depth"]:
            raise fail_unclosed(stack[-1])
        kind = "expandable_blockquote" if quote["expandable"] else "blockquote"
        entities.append(
            {"type": kind, "offset": quote["offset"], "length": out.u16 - quote["offset"]}
        )
        quote = None

    def at_line_start(index: int) -> bool:
        return index == 0 or text[index - 1] in "\r\n"

    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        top = stack[-1].kind if stack else None
        in_code = top in ("code", "pre", "pre_code")
        if c == "\\" and nxt and 0 < ord(nxt) <= 126:
            out.add(nxt)
            i += 2
            continue
        if in_code and c != "`":
            out.add(c)
            i += 1
            continue
        if not in_code:
            if quote is None and c == ">" and at_line_start(i):
                quote = {"offset": out.u16, "depth": len(stack), "expandable": False}
                i += 1
                continue
            if quote is None and text.startswith("**>", i) and at_line_start(i):
                quote = {"offset": out.u16, "depth": len(stack), "expandable": True}
                i += 3
                continue
            if quote is not None and c == ">" and at_line_start(i):
                i += 1
                continue
            if c in "\r\n":
                newline = "\r\n" if text.startswith("\r\n", i) else c
                out.add(newline)
                i += len(newline)
                if quote is not None and not (i < n and text[i] == ">"):
                    close_quote()
                continue
        if c not in _MDV2_RESERVED:
            out.add(c)
            i += 1
            continue
        # The end of the innermost entity?
        end_len = _mdv2_end(top, text, i)
        if end_len:
            entry = stack.pop()
            i += end_len
            entity: dict[str, Any] = {
                "type": "pre" if entry.kind == "pre_code" else entry.kind,
                "offset": entry.offset,
                "length": out.u16 - entry.offset,
            }
            if entry.kind == "pre_code":
                entity["language"] = entry.argument
            if entry.kind in ("text_link", "custom_emoji"):
                url = ""
                if i < n and text[i] == "(":
                    url, i = _mdv2_link_target(text, i, entry.kind)
                elif entry.kind == "text_link":
                    url = out.text()[_index_at_u16(out.text(), entry.offset) :]
                if entry.kind == "custom_emoji":
                    match = re.fullmatch(r"tg://emoji\?id=(\d+)", url, re.IGNORECASE)
                    if not match:
                        raise _ParseError("Custom emoji entity must contain a tg://emoji URL")
                    entity["custom_emoji_id"] = match.group(1)
                else:
                    normalized = _normalize_url(url)
                    if normalized is None:
                        continue  # Telegram drops links it cannot use
                    entity["url"] = normalized
            entities.append(entity)
            continue
        # The start of an entity, the end of an expandable quote, or a stray reserved character.
        begin = i
        if (
            c == "|"
            and nxt == "|"
            and quote is not None
            and (i + 2 == n or text[i + 2] in "\r\n")
            and top != "spoiler"
        ):
            quote["expandable"] = True
            i += 2
            continue
        if c == "_":
            kind, i = ("underline", i + 2) if nxt == "_" else ("italic", i + 1)
        elif c == "*":
            kind, i = "bold", i + 1
        elif c == "~":
            kind, i = "strikethrough", i + 1
        elif c == "|" and nxt == "|":
            kind, i = "spoiler", i + 2
        elif c == "[":
            kind, i = "text_link", i + 1
        elif c == "!" and nxt == "[":
            kind, i = "custom_emoji", i + 2
        elif c == "`" and text.startswith("```", i):
            i += 3
            j = i
            while j < n and not text[j].isspace() and text[j] != "`":
                j += 1
            language = ""
            if j < n and text[j].isspace() and j > i:
                language, i = text[i:j], j
            if i < n and text[i] in "\r\n":
                pair = text[i : i + 2]
                i += 2 if pair in ("\r\n", "\n\r") else 1
            stack.append(_Open("pre_code" if language else "pre", out.u16, begin, language))
            continue
        elif c == "`":
            kind, i = "code", i + 1
        else:
            raise _ParseError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        stack.append(_Open(kind, out.u16, begin))
    if stack:
        raise fail_unclosed(stack[-1])
    if quote is not None:
        close_quote()
    return out.text(), _sorted_entities(entities)


def _index_at_u16(text: str, u16_offset: int) -> int:
    count = 0
    for index, ch in enumerate(text):
        if count >= u16_offset:
            return index
        count += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(
    r"&(?:#(?P<dec>[0-9]{1,8})|#[xX](?P<hex>[0-9a-fA-F]{1,8})|(?P<name>[a-zA-Z]+));?"
)


def _html_unescape_at(text: str, i: int) -> tuple[str, int]:
    """Decodes the character reference at text[i] ('&'); literal '&' if it is not one."""
    match = _HTML_ENTITY.match(text, i)
    if match:
        if match["name"] is not None:
            if match["name"] in _HTML_NAMED:
                return _HTML_NAMED[match["name"]], match.end()
        else:
            code = int(match["dec"]) if match["dec"] is not None else int(match["hex"], 16)
            if 0xD800 <= code <= 0xDFFF:
                raise _ParseError(
                    "Text contains invalid Unicode characters after decoding HTML entities, "
                    "check for unmatched surrogate code units"
                )
            if 0 < code < 0x110000:
                return chr(code), match.end()
    return "&", i + 1


def _html_unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "&":
            decoded, i = _html_unescape_at(text, i)
            out.append(decoded)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _is_name_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-_")


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parses Telegram's HTML subset like TDLib's parse_html: plain text + entities."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, dict[str, str], int]] = []  # tag, attributes, UTF-16 offset
    n = len(text)
    i = 0
    space = " \t\r\n"

    def at(index: int) -> int:
        return _byte_offset(text, index)

    while i < n:
        c = text[i]
        if c == "&":
            decoded, i = _html_unescape_at(text, i)
            out.add(decoded)
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            if not stack:
                raise _ParseError(f"Unexpected end tag at byte offset {at(begin)}")
            j = i + 2
            while j < n and _is_name_char(text[j]):
                j += 1
            name = text[i + 2 : j].lower()
            while j < n and text[j] in space:
                j += 1
            if j >= n or text[j] != ">":
                raise _ParseError(f"Unclosed end tag at byte offset {at(begin)}")
            open_tag, open_attrs, offset = stack.pop()
            if name and name != open_tag:
                raise _ParseError(
                    f'Unmatched end tag at byte offset {at(begin)}, expected "</{open_tag}>", '
                    f'found "</{name}>"'
                )
            _close_html_tag(open_tag, open_attrs, offset, out, entities)
            i = j + 1
            continue
        j = i + 1
        while j < n and _is_name_char(text[j]):
            j += 1
        if j >= n:
            raise _ParseError(f"Unclosed start tag at byte offset {at(begin)}")
        tag = text[i + 1 : j].lower()
        if tag not in _HTML_TAGS:
            raise _ParseError(f'Unsupported start tag "{tag}" at byte offset {at(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j] in space:
                j += 1
            if j >= n:
                raise _ParseError(f'Unclosed start tag "{tag}" at byte offset {at(begin)}')
            if text[j] == ">":
                j += 1
                break
            k = j
            while k < n and _is_name_char(text[k]):
                k += 1
            attr = text[j:k].lower()
            if not attr:
                raise _ParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {at(begin)}'
                )
            j = k
            while j < n and text[j] in space:
                j += 1
            if j >= n:
                raise _ParseError(f'Unclosed start tag "{tag}" at byte offset {at(begin)}')
            if text[j] != "=":
                attrs[attr] = ""
                continue
            j += 1
            while j < n and text[j] in space:
                j += 1
            if j >= n:
                raise _ParseError(f'Unclosed start tag "{tag}" at byte offset {at(begin)}')
            if text[j] in "'\"":
                end = text.find(text[j], j + 1)
                if end < 0:
                    raise _ParseError(f"Unclosed start tag at byte offset {at(begin)}")
                attrs[attr] = _html_unescape(text[j + 1 : end])
                j = end + 1
            else:
                k = j
                while k < n and (_is_name_char(text[k]) or text[k] == "."):
                    k += 1
                if k < n and text[k] not in space + ">":
                    raise _ParseError(f"Unexpected end of name token at byte offset {at(j)}")
                attrs[attr] = text[j:k]
                j = k
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _ParseError('Tag "span" must have class "tg-spoiler"')
        stack.append((tag, attrs, out.u16))
        i = j
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        entity.pop("_language", None)
    return out.text(), _sorted_entities(entities)


def _close_html_tag(
    tag: str, attrs: dict[str, str], offset: int, out: _Builder, entities: list[dict[str, Any]]
) -> None:
    length = out.u16 - offset
    kind = _HTML_TAGS[tag]
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        url = _normalize_url(attrs.get("href") or out.text()[_index_at_u16(out.text(), offset) :])
        if url is None:
            return
        entity["url"] = url
    elif kind == "custom_emoji":
        if not attrs.get("emoji-id", "").isdigit():
            raise _ParseError("Custom emoji entity must have an emoji-id attribute")
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "code":
        language = attrs.get("class", "").removeprefix("language-")
        if attrs.get("class", "").startswith("language-") and language:
            entity["_language"] = language
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and (last["offset"], last["length"]) == (offset, length)
            and "_language" in entity
        ):
            last["language"] = entity["_language"]
            return
    elif kind == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and (last["offset"], last["length"]) == (offset, length)
            and "_language" in last
        ):
            entities.pop()
            entity["language"] = last["_language"]
    entities.append(entity)


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        begin = i
        unclosed = _ParseError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
        )
        offset = out.u16
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise unclosed
            body = text[i + 3 : end]
            language, newline, rest = body.partition("\n")
            if newline and language and not language.strip(" \t").count(" "):
                body = rest
            else:
                language = ""
            out.add(body)
            entity: dict[str, Any] = {"type": "pre", "offset": offset, "length": out.u16 - offset}
            if language:
                entity["language"] = language
            entities.append(entity)
            i = end + 3
            continue
        if c == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise unclosed
            out.add(text[i + 1 : end])
            i = end + 1
            if i < n and text[i] == "(":
                close = text.find(")", i + 1)
                if close < 0:
                    raise unclosed
                url = _normalize_url(text[i + 1 : close])
                i = close + 1
                if url is not None:
                    entities.append(
                        {
                            "type": "text_link",
                            "offset": offset,
                            "length": out.u16 - offset,
                            "url": url,
                        }
                    )
            continue
        end = text.find(c, i + 1)
        if end < 0:
            raise unclosed
        out.add(text[i + 1 : end])
        kind = {"*": "bold", "_": "italic", "`": "code"}[c]
        entities.append({"type": kind, "offset": offset, "length": out.u16 - offset})
        i = end + 1
    return out.text(), _sorted_entities(entities)


_ENTITY_KEYS = ("type", "offset", "length", "url", "language", "custom_emoji_id", "user")
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entities Telegram adds to a user's text (``/cmd`` and ``/cmd@bot``)."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group()),
        }
        for m in _COMMAND.finditer(text)
    ]


def _explicit_entities(raw: Any, text: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ApiError("Bad Request: can't parse entities JSON object") from None
    if not isinstance(raw, list):
        raise ApiError("Bad Request: can't parse entities JSON object")
    total = utf16_len(text)
    result = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ApiError('Bad Request: can\'t parse MessageEntity: field "type" is required')
        try:
            offset, length = int(item["offset"]), int(item["length"])
        except (KeyError, TypeError, ValueError):
            raise ApiError("Bad Request: can't parse MessageEntity: bad offset or length") from None
        offset = max(0, min(offset, total))
        length = max(0, min(length, total - offset))
        entity = {k: item[k] for k in _ENTITY_KEYS if k in item}
        entity.update(offset=offset, length=length)
        result.append(entity)
    return _sorted_entities(result)


_TRIM = " \t\r\n\x0b\x0c"


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims whitespace around a message; entities move and shrink with the text."""
    lead = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    trimmed = text.strip(_TRIM)
    total = utf16_len(trimmed)
    result = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return trimmed, result


def format_text(
    raw: str | None,
    parse_mode: str | None,
    raw_entities: Any,
    *,
    limit: int,
    too_long: str,
    empty: str | None,
) -> tuple[str | None, list[dict[str, Any]]]:
    """Turns (text, parse_mode, entities) into what Telegram stores, or raises ApiError.

    ``empty`` is the error for an empty result; None means empty is fine (captions).
    """
    if raw is None or raw == "":
        if empty is not None:
            raise ApiError(empty)
        return None, []
    mode = (parse_mode or "").lower()
    try:
        if mode == "markdownv2":
            text, entities = parse_markdown_v2(raw)
        elif mode == "html":
            text, entities = parse_html(raw)
        elif mode == "markdown":
            text, entities = parse_markdown(raw)
        elif mode in ("", "none"):
            text, entities = raw, _explicit_entities(raw_entities, raw)
        else:
            raise ApiError("Bad Request: unsupported parse_mode")
    except _ParseError as exc:
        raise ApiError(f"Bad Request: can't parse entities: {exc}") from None
    text, entities = _trim(text, entities)
    if not text:
        if empty is not None:
            raise ApiError(empty)
        return None, []
    if len(text) > limit:
        raise ApiError(too_long)
    return text, entities


# --------------------------------------------------------------------------------------------
# Reply markup
# --------------------------------------------------------------------------------------------

_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def validate_reply_markup(raw: Any) -> dict[str, Any] | None:
    """Checks a reply_markup like Telegram; an empty inline keyboard means no markup."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ApiError(BAD_MARKUP) from None
    if not isinstance(raw, dict):
        raise ApiError(BAD_MARKUP)
    if "inline_keyboard" not in raw:
        if any(k in raw for k in ("keyboard", "remove_keyboard", "force_reply")):
            return raw
        raise ApiError(BAD_MARKUP)
    rows = raw["inline_keyboard"]
    if not isinstance(rows, list):
        raise ApiError(
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
        )
    for row in rows:
        if not isinstance(row, list):
            raise ApiError("Bad Request: can't parse inline keyboard button: row must be an Array")
        for button in row:
            if not isinstance(button, dict):
                raise ApiError(
                    "Bad Request: can't parse inline keyboard button: "
                    "InlineKeyboardButton must be an Object"
                )
            if not isinstance(button.get("text"), str):
                raise ApiError(
                    "Bad Request: can't parse inline keyboard button: "
                    'Field "text" must be of type String'
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(BUTTON_DATA_INVALID)
            elif "url" in button:
                url = button["url"]
                if not isinstance(url, str) or _normalize_url(url) is None:
                    raise ApiError(BUTTON_URL_INVALID)
            elif not any(k in button for k in _BUTTON_ACTIONS):
                raise ApiError(
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
    if not any(rows):
        return None
    return {"inline_keyboard": rows}


# --------------------------------------------------------------------------------------------
# Flood control
# --------------------------------------------------------------------------------------------


@dataclass
class FloodPolicy:
    """Telegram's (approximate) limits; see the module docstring."""

    private_burst: float = 3.0  # token bucket size per chat (groups too, despite the name)
    private_per_second: float = 1.0  # refill rate
    group_per_minute: int = 20  # sliding 60 s window per group/supergroup
    global_per_second: int = 30  # sliding 1 s window over all chats


class FloodControl:
    """Decides whether one more counted call may go through now."""

    def __init__(self, policy: FloodPolicy) -> None:
        self.policy = policy
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, when)
        self._groups: dict[int, deque[float]] = {}
        self._global: deque[float] = deque()

    def admit(self, chat_id: int | None, private: bool, now: float) -> int | None:
        """None and the call is counted, or the whole seconds to wait (nothing counted)."""
        p = self.policy
        waits: list[float] = []
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        if len(self._global) >= p.global_per_second:
            waits.append(self._global[0] + 1.0 - now)
        tokens = 0.0
        if chat_id is not None:
            tokens, when = self._buckets.get(chat_id, (p.private_burst, now))
            tokens = min(p.private_burst, tokens + (now - when) * p.private_per_second)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / p.private_per_second)
        window: deque[float] | None = None
        if chat_id is not None and not private:
            window = self._groups.setdefault(chat_id, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= p.group_per_minute:
                waits.append(window[0] + 60.0 - now)
        if waits:
            return max(1, math.ceil(max(waits) - 1e-9))
        self._global.append(now)
        if chat_id is not None:
            self._buckets[chat_id] = (tokens - 1.0, now)
        if window is not None:
            window.append(now)
        return None


# --------------------------------------------------------------------------------------------
# The emulator: lifecycle and HTTP plumbing
# --------------------------------------------------------------------------------------------

_Handler = Callable[[Params], Any]


def _shorten(value: Any, limit: int = 60) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


class BotApiEmulator(FakeServer):
    """Telegram's Bot API on 127.0.0.1 for one bot. See the module docstring for an overview."""

    def __init__(
        self,
        *,
        bot_id: int = 123456,
        bot_username: str = "ImagineTestBot",
        bot_name: str = "Imagine Test Bot",
        token: str | None = None,
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        # Never looks like a real token ([0-9]{8,10}:AA[A-Za-z0-9_-]{33}), so a leak is findable.
        self.token = token or f"{bot_id}:TEST-{secrets.token_hex(8)}"
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        super().__init__()
        # Knobs
        self.flood_limits = False
        self.flood_policy = FloodPolicy()
        self.clock: Callable[[], float] = time.monotonic  # flood control and callback expiry
        self.callback_timeout: float | None = None  # seconds to answer a press; None = forever
        self.url_fetch_timeout = 10.0
        self.inline_mode = False  # @BotFather /setinline: users may send inline queries
        self.inline_feedback = False  # /setinlinefeedback: chosen results come as updates
        # What tests observe
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.drafts: list[Draft] = []  # every draft update taken, oldest first
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}  # (scope, lang) -> list
        self.chat_actions: list[tuple[int, str, float]] = []
        self.chat_action_topics: list[int | None] = []  # the topic of each of chat_actions
        self.too_many_requests_sent = 0
        self.unauthorized_requests = 0
        self.errors: list[Exception] = []  # emulator bugs (answered with 500)
        self.inline_answers: list[InlineAnswer] = []
        self.webhook_url = ""
        # State
        self._calls: list[Call] = []
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._failures: dict[str, deque[_Failure]] = {}
        self._holds: dict[str, _Hold] = {}
        self._migrated: dict[int, int] = {}  # old group id -> supergroup id
        self._flood = FloodControl(self.flood_policy)
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._inline_queries: dict[str, _InlineQuery] = {}
        self._inline_messages: dict[str, StoredMessage] = {}
        self._photo_groups: dict[str, list[dict[str, Any]]] = {}  # any size's file_id -> sizes
        self._file_paths: dict[str, StoredFile] = {}
        self._ids = itertools.count(1)
        self._change = asyncio.Event()
        self._closing = False
        self._session: aiohttp.ClientSession | None = None
        self._started_at = time.monotonic()
        # Every _m_<method> is a Bot API method (matched case-insensitively, like Telegram).
        self._handlers: dict[str, _Handler] = {
            name[3:].lower(): getattr(self, name) for name in dir(self) if name.startswith("_m_")
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/bot{token}/{method}", self._handle_method),
            web.get("/file/bot{token}/{path:.+}", self._handle_file),
        ]

    async def start(self) -> str:
        self._closing = False
        self._started_at = time.monotonic()
        return await super().start()

    async def stop(self) -> None:
        """Wakes every waiting long poll (they answer an empty list), then stops."""
        self._closing = True
        self._notify()
        if self._session is not None:
            await self._session.close()
            self._session = None
        await super().stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``telegram.Bot(base_url=...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def make_bot(self, **kwargs: Any) -> telegram.Bot:
        """A ``telegram.Bot`` pointed at the emulator (use ``async with``)."""
        return telegram.Bot(
            self.token, base_url=self.base_url, base_file_url=self.base_file_url, **kwargs
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wakes everything waiting for a change (long polls, wait_for)."""
        self._change.set()
        self._change = asyncio.Event()

    @staticmethod
    def _envelope(
        error_code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        if migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": migrate_to_chat_id}
        return web.json_response(body, status=error_code)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, Any] = {}
        body = await request.read()
        ctype = request.headers.get("Content-Type", "")
        if body and ctype.startswith("multipart/form-data"):
            fields, files = _parse_multipart(body, ctype)
            values.update(fields)
        elif body and ctype.startswith("application/json"):
            try:
                data = json.loads(body)
            except ValueError:
                raise ApiError("Bad Request: can't parse JSON encoded request") from None
            if not isinstance(data, dict):
                raise ApiError("Bad Request: can't parse JSON encoded request")
            values.update(data)
        elif body:
            values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return values, files

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self.unauthorized_requests += 1
            return self._envelope(401, "Unauthorized")
        call = Call(method, {}, {}, time.monotonic())
        self._calls.append(call)
        try:
            values, files = await self._read_params(request)
            call.params = {k: _decode_value(k, v) for k, v in values.items()}
            call.files = files
            result = await self._dispatch(method, Params(call.params, files))
        except ApiError as exc:
            call.status, call.error = exc.error_code, exc.description
            call.retry_after = exc.retry_after
            if exc.error_code == 429:
                self.too_many_requests_sent += 1
            response = self._envelope(
                exc.error_code, exc.description, exc.retry_after, exc.migrate_to_chat_id
            )
        except Exception as exc:  # a bug in the emulator: make it loud in the call log
            self.errors.append(exc)
            call.status, call.error = 500, f"emulator bug: {exc!r}"
            response = self._envelope(500, call.error)
        else:
            call.status, call.ok, call.result = 200, True, result
            response = web.json_response({"ok": True, "result": result})
        self._notify()
        return response

    async def _dispatch(self, method: str, params: Params) -> Any:
        name = method.lower()
        handler = self._handlers.get(name)
        if handler is None:
            raise ApiError("Not Found", 404)
        await self._held(name)
        await self._injected_failure(name)
        if self.flood_limits and name in FLOOD_COUNTED:
            self._check_flood(params)
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    async def _held(self, name: str) -> None:
        hold = self._holds.get(name)
        if hold is None:
            return
        hold.waiting += 1
        self._notify()
        try:
            while not hold.released.is_set() and not self._closing:
                change = self._change
                await change.wait()
        finally:
            hold.waiting -= 1
        if hold.drop or self._closing:
            raise ApiError("Internal Server Error: the call was dropped", 500)

    async def _injected_failure(self, name: str) -> None:
        queue = self._failures.get(name)
        if not queue and name != "getupdates":
            queue = self._failures.get("*")
        if not queue:
            return
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.popleft()
        if failure.delay:
            await asyncio.sleep(failure.delay)
            return
        raise ApiError(
            failure.description,
            failure.error_code,
            retry_after=failure.retry_after,
            migrate_to_chat_id=failure.migrate_to_chat_id,
        )

    def _check_flood(self, params: Params) -> None:
        chat_id: int | None
        try:
            chat_id = params.integer("chat_id")
        except ApiError:
            chat_id = None
        inline = self._inline_messages.get(params.string("inline_message_id") or "")
        if chat_id is None and inline is not None:
            chat_id = inline.chat_id  # an inline message's edits count in its chat
        chat = self._chats.get(chat_id) if chat_id is not None else None
        private = chat.type == "private" if chat else (chat_id or 0) > 0
        self._flood.policy = self.flood_policy
        wait = self._flood.admit(chat_id, private, self.clock())
        if wait is not None:
            raise ApiError(f"Too Many Requests: retry after {wait}", 429, retry_after=wait)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            self.unauthorized_requests += 1
            return self._envelope(401, "Unauthorized")
        stored = self._file_paths.get(request.match_info["path"])
        if stored is None:
            return self._envelope(404, "Not Found")
        ctype = stored.mime_type or mimetypes.guess_type(stored.file_path)[0]
        return web.Response(body=stored.data, content_type=ctype or "application/octet-stream")

    # -- shared helpers for the methods -------------------------------------------------------

    def _chat(self, params: Params, *, sending: bool) -> _Chat:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise ApiError("Bad Request: chat_id is empty")
        chat: _Chat | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            chat = next(
                (c for c in self._chats.values() if c.info.get("username") == raw[1:]), None
            )
        else:
            try:
                chat = self._chats.get(int(raw))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            never_started = str(raw).isdigit() and int(str(raw)) in self._users
            if sending and never_started:  # a user the bot knows, who never started it
                raise ApiError(CANT_INITIATE, 403)
            raise ApiError(CHAT_NOT_FOUND)
        if chat.id in self._migrated:
            raise ApiError(MIGRATED, migrate_to_chat_id=self._migrated[chat.id])
        if sending:
            if chat.type == "private" and chat.id in self._blocked:
                raise ApiError(BLOCKED, 403)
            status = chat.members.get(self.bot_id, "member")
            kind = "supergroup" if chat.type == "supergroup" else "group"
            if chat.type != "private" and status == "kicked":
                raise ApiError(f"Forbidden: bot was kicked from the {kind} chat", 403)
            if chat.type != "private" and status == "left":
                raise ApiError(f"Forbidden: bot is not a member of the {kind} chat", 403)
        return chat

    def _message_id(self, params: Params) -> int:
        message_id = params.integer("message_id")
        if message_id is None:
            raise ApiError("Bad Request: message identifier is not specified")
        return message_id

    def _reply_target(self, chat: _Chat, params: Params) -> int | None:
        reply = params.json(
            "reply_parameters", "Bad Request: can't parse reply parameters JSON object"
        )
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
        elif params.has("reply_to_message_id"):
            message_id = params.integer("reply_to_message_id")
            allow = params.flag("allow_sending_without_reply")
        else:
            return None
        try:
            target = chat.messages.get(int(message_id))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            target = None
        if target is None or target.deleted:
            if allow:
                return None
            raise ApiError(REPLY_NOT_FOUND)
        return target.message_id

    def _destination(self, chat: _Chat, params: Params) -> tuple[int | None, int | None]:
        """(the message a sent message replies to, the forum topic it lands in).

        As on Telegram: ``message_thread_id`` names the topic (an unknown one, or any outside a
        forum, is "message thread not found"); without it a reply lands in the topic of the
        message it replies to, anything else in General. A reply that was dropped under
        allow_sending_without_reply (the message is gone) therefore lands in General unless
        the topic is named.
        """
        thread = params.integer("message_thread_id")
        if thread and thread not in chat.topics:
            raise ApiError(THREAD_NOT_FOUND)
        reply_to = self._reply_target(chat, params)
        if thread:
            return reply_to, thread
        return reply_to, chat.messages[reply_to].topic if reply_to is not None else None

    def _format(
        self, params: Params, name: str, entities_name: str, **kw: Any
    ) -> tuple[str | None, list[dict[str, Any]]]:
        return format_text(
            params.string(name), params.string("parse_mode"), params.get(entities_name), **kw
        )

    def _caption(self, params: Params) -> tuple[str | None, list[dict[str, Any]]]:
        return self._format(
            params,
            "caption",
            "caption_entities",
            limit=CAPTION_LIMIT,
            too_long=CAPTION_TOO_LONG,
            empty=None,
        )

    def _new_message(self, chat: _Chat, sender: dict[str, Any], **content: Any) -> StoredMessage:
        reply_to = content.get("reply_to")
        if content.get("topic") is None and reply_to is not None and chat.type == "supergroup":
            target = chat.messages[
                reply_to
            ]  # a reply outside topics: the chain's root is its thread
            content["reply_thread"] = target.reply_thread or target.message_id
        message = StoredMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            from_bot=sender["id"] == self.bot_id,
            sender=sender,
            date=int(time.time()),
            **content,
        )
        chat.next_message_id += 1
        message.history.append(message.snapshot(time.monotonic()))
        chat.messages[message.message_id] = message
        return message

    def _message_dict(self, message: StoredMessage, *, nested: bool = False) -> dict[str, Any]:
        """The Message object as the Bot API returns it."""
        chat = self._chats[message.chat_id]
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "from": dict(message.sender),
            "chat": dict(chat.info),
            "date": message.date,
        }
        if message.topic is not None:
            result["message_thread_id"] = message.topic
            result["is_topic_message"] = True
        elif message.reply_thread is not None:
            result["message_thread_id"] = message.reply_thread  # not a topic: no is_topic_message
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.media_group_id is not None:
            result["media_group_id"] = message.media_group_id
        if message.forum_topic_created is not None:
            result["forum_topic_created"] = dict(message.forum_topic_created)
        replied = message.reply_to
        if replied is None and message.topic is not None and message.topic != message.message_id:
            replied = message.topic  # in a topic, a message "replies" to the topic's creation
        if not nested and replied is not None:
            target = chat.messages.get(replied)
            if target is not None and not target.deleted:
                result["reply_to_message"] = self._message_dict(target, nested=True)
        if message.text is not None:
            result["text"] = message.text
            if message.entities:
                result["entities"] = [dict(e) for e in message.entities]
        if message.photo_sizes:
            result["photo"] = [dict(size) for size in message.photo_sizes]
            if message.has_spoiler:
                result["has_media_spoiler"] = True
        if message.show_caption_above_media:
            result["show_caption_above_media"] = True
        if message.document_info is not None:
            result["document"] = dict(message.document_info)
        if message.caption is not None:
            result["caption"] = message.caption
            if message.entities:
                result["caption_entities"] = [dict(e) for e in message.entities]
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = message.reply_markup
        if message.via_bot is not None:
            result["via_bot"] = dict(message.via_bot)
        return result

    def _sendable_message(self, chat: _Chat, message_id: int, missing: str) -> StoredMessage:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise ApiError(missing)
        return message

    # -- files ------------------------------------------------------------------------------

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

    # ========================================================================================
    # Methods: the bot and its updates
    # ========================================================================================

    def _m_getMe(self, params: Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_getUpdates(self, params: Params) -> list[dict[str, Any]]:
        """Long polling: answers as soon as there are updates, or after ``timeout`` seconds.

        ``offset`` confirms (forgets) every update below it; a negative one keeps only the last
        ``-offset`` updates. A newer getUpdates ends a waiting one with 409, as on Telegram.
        """
        if self.webhook_url:
            raise ApiError(WEBHOOK_CONFLICT, 409)
        offset = params.integer("offset")
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(0.0, params.number("timeout", 0.0))
        allowed = params.json("allowed_updates", "Bad Request: can't parse allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        if offset is not None and offset < 0:
            del self._updates[: max(0, len(self._updates) + offset)]
        elif offset is not None:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # ends an older waiting getUpdates
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(GET_UPDATES_CONFLICT, 409)
            remaining = deadline - asyncio.get_running_loop().time()
            if self._updates or self._closing or remaining <= 0:
                return [dict(u) for u in self._updates[:limit]]
            change = self._change
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(change.wait(), remaining)

    def _m_setWebhook(self, params: Params) -> bool:
        self.webhook_url = params.string("url") or ""
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_deleteWebhook(self, params: Params) -> bool:
        self.webhook_url = ""
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getWebhookInfo(self, params: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _m_logOut(self, params: Params) -> bool:
        return True

    def _m_close(self, params: Params) -> bool:
        return True

    # ========================================================================================
    # Methods: sending
    # ========================================================================================

    def _m_sendMessage(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params, sending=True)
        text, entities = self._format(
            params, "text", "entities", limit=TEXT_LIMIT, too_long=TEXT_TOO_LONG, empty=TEXT_EMPTY
        )
        reply_markup = validate_reply_markup(params.get("reply_markup"))
        reply_to, topic = self._destination(chat, params)
        message = self._new_message(
            chat,
            self.bot_user,
            text=text,
            entities=entities,
            reply_to=reply_to,
            reply_markup=reply_markup,
            topic=topic,
        )
        return self._message_dict(message)

    def _m_sendMessageDraft(self, params: Params) -> bool:
        """A private chat's message being written (Bot API 10.0: the text may be empty, which
        shows a "Thinking…" placeholder). Nothing is stored in the chat: the bot's sendMessage
        with the finished text is the message."""
        chat = self._chat(params, sending=True)
        if chat.type != "private":
            raise ApiError(DRAFT_PEER_INVALID)
        draft_id = params.integer("draft_id")
        if not draft_id:
            raise ApiError(DRAFT_ID_INVALID)
        text, entities = self._format(
            params, "text", "entities", limit=TEXT_LIMIT, too_long=EDIT_TOO_LONG, empty=None
        )
        self.drafts.append(
            Draft(
                chat.id,
                draft_id,
                text or "",
                tuple(entities),
                params.integer("message_thread_id"),
                time.monotonic(),
            )
        )
        return True

    async def _m_sendPhoto(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params, sending=True)
        caption, entities = self._caption(params)
        reply_markup = validate_reply_markup(params.get("reply_markup"))
        reply_to, topic = self._destination(chat, params)
        sizes, data = await self._resolve_photo(params.file("photo"))
        message = self._new_message(
            chat,
            self.bot_user,
            caption=caption,
            entities=entities,
            photo_sizes=sizes,
            photo=data,
            has_spoiler=params.flag("has_spoiler"),
            show_caption_above_media=params.flag("show_caption_above_media"),
            reply_to=reply_to,
            reply_markup=reply_markup,
            topic=topic,
        )
        return self._message_dict(message)

    async def _m_sendDocument(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params, sending=True)
        caption, entities = self._caption(params)
        reply_markup = validate_reply_markup(params.get("reply_markup"))
        reply_to, topic = self._destination(chat, params)
        stored = await self._resolve_document(params.file("document"))
        message = self._new_message(
            chat,
            self.bot_user,
            caption=caption,
            entities=entities,
            document_info=stored.document(),
            document=stored.data,
            reply_to=reply_to,
            reply_markup=reply_markup,
            topic=topic,
        )
        return self._message_dict(message)

    async def _m_sendMediaGroup(self, params: Params) -> list[dict[str, Any]]:
        """2-10 photos or documents as one album (one item is sent as an ordinary message)."""
        chat = self._chat(params, sending=True)
        media = params.json("media", "Bad Request: can't parse media JSON object")
        if media is None:
            raise ApiError('Bad Request: parameter "media" is required')
        if not isinstance(media, list):
            raise ApiError("Bad Request: expected an Array of InputMedia")
        if not media:
            raise ApiError(ALBUM_EMPTY)
        if len(media) > ALBUM_LIMIT:
            raise ApiError(ALBUM_TOO_BIG)
        kinds = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "document"):
                raise ApiError(
                    f'Bad Request: can\'t parse InputMedia: type "{kind}" is not supported '
                    "by the emulator (photo and document are)"
                )
            kinds.append(kind)
        if "document" in kinds and "photo" in kinds:
            raise ApiError("Bad Request: document can't be mixed with other media types")
        reply_to, topic = self._destination(chat, params)
        prepared = []
        for position, item in enumerate(media, start=1):
            caption, entities = format_text(
                item.get("caption"),
                item.get("parse_mode"),
                item.get("caption_entities"),
                limit=CAPTION_LIMIT,
                too_long=CAPTION_TOO_LONG,
                empty=None,
            )
            try:
                content = await self._resolve_media(item, params)
            except ApiError as exc:
                if not exc.per_item:
                    raise
                reason = exc.description.removeprefix("Bad Request: ")
                raise ApiError(
                    f"Bad Request: failed to send message #{position} with the error message "
                    f'"{reason[:1].upper()}{reason[1:]}"'
                ) from None
            look = {
                "has_spoiler": item.get("type") == "photo" and bool(item.get("has_spoiler")),
                "show_caption_above_media": bool(item.get("show_caption_above_media")),
            }
            prepared.append({"caption": caption, "entities": entities, **content, **look})
        group_id = str(10**17 + next(self._ids)) if len(prepared) > 1 else None
        messages = [
            self._new_message(
                chat,
                self.bot_user,
                media_group_id=group_id,
                reply_to=reply_to,
                topic=topic,
                **item,
            )
            for item in prepared
        ]
        return [self._message_dict(m) for m in messages]

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

    def _m_sendChatAction(self, params: Params) -> bool:
        chat = self._chat(params, sending=True)
        action = params.string("action")
        if action not in CHAT_ACTIONS:
            raise ApiError("Bad Request: wrong parameter action in request")
        thread = params.integer("message_thread_id")
        if thread and thread not in chat.topics:
            raise ApiError(THREAD_NOT_FOUND)
        self.chat_actions.append((chat.id, action, time.monotonic()))
        self.chat_action_topics.append(thread or None)
        return True

    def _m_createForumTopic(self, params: Params) -> dict[str, Any]:
        """A new topic in a forum supergroup (the bot must be an administrator); its id is the
        id of the service message that opens it."""
        chat = self._chat(params, sending=True)
        if not chat.is_forum:
            raise ApiError(NOT_A_FORUM)
        if chat.members.get(self.bot_id, "member") not in ("administrator", "creator"):
            raise ApiError(TOPIC_RIGHTS)
        name = (params.string("name") or "").strip()
        if not name:
            raise ApiError("Bad Request: TOPIC_TITLE_EMPTY")
        color = params.integer("icon_color") or TOPIC_COLORS[len(chat.topics) % len(TOPIC_COLORS)]
        return dict(self._open_topic(chat, self.bot_user, name, color))

    def _open_topic(
        self, chat: _Chat, sender: dict[str, Any], name: str, color: int
    ) -> dict[str, Any]:
        """Posts the topic's creation message and records the topic; returns the ForumTopic."""
        created = {"name": name, "icon_color": color}
        message = self._new_message(chat, sender, forum_topic_created=created)
        message.topic = message.message_id
        topic = {"message_thread_id": message.message_id, **created}
        chat.topics[message.message_id] = topic
        return topic

    # ========================================================================================
    # Methods: editing and deleting
    # ========================================================================================

    def _editable(self, params: Params) -> StoredMessage:
        if params.has("inline_message_id") and not params.has("chat_id"):
            message = self._inline_messages.get(params.string("inline_message_id") or "")
            if message is None or message.deleted:
                raise ApiError(INLINE_MESSAGE_INVALID)
            return message
        chat = self._chat(params, sending=False)
        message = self._sendable_message(chat, self._message_id(params), EDIT_NOT_FOUND)
        if not message.from_bot:
            raise ApiError("Bad Request: message can't be edited")
        return message

    def _apply_edit(self, message: StoredMessage, **changes: Any) -> dict[str, Any] | bool:
        """Applies an edit or raises "message is not modified"; keeps the history. The edited
        Message is the answer, or True for an inline message."""
        if all(getattr(message, k) == v for k, v in changes.items()):
            raise ApiError(NOT_MODIFIED)
        for key, value in changes.items():
            setattr(message, key, value)
        message.edit_date = int(time.time())
        message.history.append(message.snapshot(time.monotonic()))
        return True if message.inline_message_id else self._message_dict(message)

    def _edit_markup(self, params: Params) -> dict[str, Any] | None:
        markup = validate_reply_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise ApiError("Bad Request: inline keyboard expected")
        return markup

    def _m_editMessageText(self, params: Params) -> dict[str, Any] | bool:
        message = self._editable(params)
        if message.text is None:
            raise ApiError("Bad Request: there is no text in the message to edit")
        text, entities = self._format(
            params, "text", "entities", limit=TEXT_LIMIT, too_long=EDIT_TOO_LONG, empty=TEXT_EMPTY
        )
        return self._apply_edit(
            message, text=text, entities=entities, reply_markup=self._edit_markup(params)
        )

    def _m_editMessageCaption(self, params: Params) -> dict[str, Any] | bool:
        message = self._editable(params)
        if message.text is not None:
            raise ApiError("Bad Request: there is no caption in the message to edit")
        caption, entities = self._caption(params)
        return self._apply_edit(
            message, caption=caption, entities=entities, reply_markup=self._edit_markup(params)
        )

    def _m_editMessageReplyMarkup(self, params: Params) -> dict[str, Any] | bool:
        message = self._editable(params)
        return self._apply_edit(message, reply_markup=self._edit_markup(params))

    async def _m_editMessageMedia(self, params: Params) -> dict[str, Any] | bool:
        message = self._editable(params)
        inline = message.inline_message_id is not None  # a text one may become media
        if message.text is not None and not inline:
            raise ApiError("Bad Request: there is no media in the message to edit")
        item = params.json("media", "Bad Request: can't parse InputMedia JSON object")
        if not isinstance(item, dict):
            raise ApiError('Bad Request: parameter "media" is required')
        if inline and str(item.get("media", "")).startswith("attach://"):
            raise ApiError(INLINE_UPLOAD_REFUSED)
        if item.get("type") not in ("photo", "document"):
            raise ApiError(
                f'Bad Request: can\'t parse InputMedia: type "{item.get("type")}" is unsupported'
            )
        caption, entities = format_text(
            item.get("caption"),
            item.get("parse_mode"),
            item.get("caption_entities"),
            limit=CAPTION_LIMIT,
            too_long=CAPTION_TOO_LONG,
            empty=None,
        )
        content = await self._resolve_media(item, params)
        return self._apply_edit(
            message,
            text=None,
            caption=caption,
            entities=entities,
            reply_markup=self._edit_markup(params),
            **content,
        )

    def _delete(self, chat: _Chat, message_id: int) -> None:
        message = self._sendable_message(chat, message_id, DELETE_NOT_FOUND)
        if not message.from_bot and chat.type != "private":
            status = chat.members.get(self.bot_id, "member")
            if status not in ("administrator", "creator"):
                raise ApiError("Bad Request: message can't be deleted for everyone")
        message.deleted, message.deleted_by = True, "bot"

    def _m_deleteMessage(self, params: Params) -> bool:
        self._delete(self._chat(params, sending=False), self._message_id(params))
        return True

    def _m_deleteMessages(self, params: Params) -> bool:
        chat = self._chat(params, sending=False)
        ids = params.json("message_ids", "Bad Request: expected an Array of message identifiers")
        if not isinstance(ids, list) or not ids:
            raise ApiError("Bad Request: expected an Array of message identifiers")
        if len(ids) > 100:
            raise ApiError("Bad Request: too many message identifiers specified")
        for message_id in ids:
            with contextlib.suppress(ApiError, TypeError, ValueError):
                self._delete(chat, int(message_id))
        return True

    # ========================================================================================
    # Methods: callbacks, commands, chats
    # ========================================================================================

    def _m_answerCallbackQuery(self, params: Params) -> bool:
        query_id = params.string("callback_query_id") or ""
        query = self._callbacks.get(query_id)
        expired = (
            query is not None
            and self.callback_timeout is not None
            and self.clock() - query.pressed_at > self.callback_timeout
        )
        if query is None or query.answered or expired:
            raise ApiError(QUERY_INVALID)
        query.answered = True
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                text=params.string("text"),
                show_alert=params.flag("show_alert"),
                url=params.string("url"),
                cache_time=params.integer("cache_time") or 0,
                time=time.monotonic(),
                chat_id=query.chat_id,
                message_id=query.message_id,
                data=query.data,
                inline_message_id=query.inline_message_id,
            )
        )
        return True

    @staticmethod
    def _scope_key(params: Params) -> str:
        scope = params.json("scope", "Bad Request: can't parse BotCommandScope JSON object")
        if not scope:
            return "default"
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise ApiError("Bad Request: can't parse BotCommandScope JSON object")
        parts = [scope["type"]] + [str(scope[k]) for k in ("chat_id", "user_id") if k in scope]
        return ":".join(parts)

    def _m_setMyCommands(self, params: Params) -> bool:
        commands = params.json("commands", "Bad Request: can't parse commands JSON object")
        if commands is None:
            raise ApiError('Bad Request: parameter "commands" is required')
        if not isinstance(commands, list):
            raise ApiError("Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError("Bad Request: too many commands specified")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError("Bad Request: can't parse BotCommand")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", "")).strip()
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = (self._scope_key(params), params.string("language_code") or "")
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _m_getMyCommands(self, params: Params) -> list[dict[str, str]]:
        key = (self._scope_key(params), params.string("language_code") or "")
        return [dict(c) for c in self.commands.get(key, [])]

    def _m_deleteMyCommands(self, params: Params) -> bool:
        self.commands.pop((self._scope_key(params), params.string("language_code") or ""), None)
        return True

    def _m_setMyDescription(self, params: Params) -> bool:
        return True

    def _m_setMyShortDescription(self, params: Params) -> bool:
        return True

    def _m_setChatMenuButton(self, params: Params) -> bool:
        return True

    def _m_getChat(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params, sending=False)
        return {
            **chat.info,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member_dict(self, chat: _Chat, user_id: int, status: str | None = None) -> dict[str, Any]:
        status = status or chat.members.get(user_id, "member")
        user = self.bot_user if user_id == self.bot_id else self._user(user_id)
        member: dict[str, Any] = {"status": status, "user": dict(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_pin_messages=True,
            )
        elif status == "restricted":
            member.update(
                {
                    "is_member": True,
                    "until_date": 0,
                    **dict.fromkeys(
                        [
                            "can_change_info",
                            "can_invite_users",
                            "can_pin_messages",
                            "can_send_messages",
                            "can_send_polls",
                            "can_send_other_messages",
                            "can_add_web_page_previews",
                            "can_manage_topics",
                            "can_send_audios",
                            "can_send_documents",
                            "can_send_photos",
                            "can_send_videos",
                            "can_send_video_notes",
                            "can_send_voice_notes",
                            "can_edit_tag",
                        ],
                        False,
                    ),
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _m_getChatMember(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params, sending=False)
        user_id = params.integer("user_id")
        if user_id is None:
            raise ApiError("Bad Request: invalid user_id specified")
        return self._member_dict(chat, user_id)

    def _m_getChatAdministrators(self, params: Params) -> list[dict[str, Any]]:
        chat = self._chat(params, sending=False)
        return [
            self._member_dict(chat, user_id)
            for user_id, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    # ========================================================================================
    # Test-side API: setup
    # ========================================================================================

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Registers (or updates) a user; returns the User object."""
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
            "username": username or f"user{user_id}",
        }
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def _user(self, user_id: int) -> dict[str, Any]:
        return self._users.get(user_id) or self.add_user(user_id)

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> dict[str, Any]:
        """Registers a chat the bot is in; returns the Chat object.

        The type defaults from the id: > 0 private (the chat id is the user's id), -100...
        supergroup, other negative ids group. Sending to an unknown chat fails with
        "chat not found", as on Telegram; the injection methods add chats themselves.
        ``is_forum`` makes a supergroup a forum (topics: :meth:`add_topic`, createForumTopic).
        """
        if chat_id in self._chats:
            return self._chats[chat_id].info
        if chat_type is None:
            chat_type = (
                "private"
                if chat_id > 0
                else "supergroup"
                if str(chat_id).startswith("-100")
                else "group"
            )
        if (chat_type == "private") != (chat_id > 0):
            raise ValueError(f"chat {chat_id}: private chats have positive ids, groups negative")
        if is_forum and chat_type != "supergroup":
            raise ValueError(f"chat {chat_id}: only supergroups can be forums")
        info: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if is_forum:
            info["is_forum"] = True
        if chat_type == "private":
            user = self._user(chat_id)
            info["first_name"] = user["first_name"]
            info["username"] = username or user["username"]
        else:
            info["title"] = title or f"Test {chat_type} {chat_id}"
            if username:
                info["username"] = username
        self._chats[chat_id] = _Chat(info)
        return info

    def set_member_status(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        *,
        by: int | None = None,
        tell_bot: bool = True,
    ) -> None:
        """What getChatMember answers: creator, administrator, member, restricted, left, kicked.

        Pass ``user_id=tg.bot_id`` to set the bot's own status (kicked/left bots get 403 on sends;
        deleting other people's messages in groups needs administrator). A change of the bot's
        status is told to the bot, as Telegram does, by a ``my_chat_member`` update from user
        ``by`` (default 1001); ``tell_bot=False`` leaves the update out (it has not arrived yet).
        """
        if status not in ("creator", "administrator", "member", "restricted", "left", "kicked"):
            raise ValueError(f"unknown chat member status {status!r}")
        if chat_id not in self._chats:
            self.add_chat(chat_id)
        chat = self._chats[chat_id]
        old = chat.members.get(user_id, "member")
        chat.members[user_id] = status
        if user_id == self.bot_id and old != status and tell_bot:
            self._tell_bot_its_status(chat, old, status, by if by is not None else 1001)

    def user_blocks_bot(self, user_id: int, blocked: bool = True, *, tell_bot: bool = True) -> None:
        """Sends to this private chat then fail with 403 "bot was blocked by the user".

        The bot learns it from a ``my_chat_member`` update (its status "kicked"; "member" again
        when unblocked), unless ``tell_bot=False`` (the update has not arrived yet).
        """
        was_blocked = user_id in self._blocked
        if blocked:
            self._blocked.add(user_id)
        else:
            self._blocked.discard(user_id)
        if tell_bot and was_blocked != blocked:
            chat = self._chats.get(user_id)
            if chat is None:
                self.add_chat(user_id)
                chat = self._chats[user_id]
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            self._tell_bot_its_status(chat, old, new, user_id)

    def _tell_bot_its_status(self, chat: _Chat, old: str, new: str, by: int) -> None:
        self._push_update(
            "my_chat_member",
            {
                "chat": dict(chat.info),
                "from": dict(self._user(by)),
                "date": int(time.time()),
                "old_chat_member": self._member_dict(chat, self.bot_id, old),
                "new_chat_member": self._member_dict(chat, self.bot_id, new),
            },
        )

    def add_topic(self, chat_id: int, name: str, *, user_id: int | None = None) -> int:
        """A user opens a topic in the forum; returns its message_thread_id (the id of the
        "topic created" service message, which the bot gets as an update like Telegram sends)."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.is_forum:
            raise ValueError(f"chat {chat_id} is not a forum: add_chat(..., is_forum=True)")
        color = TOPIC_COLORS[len(chat.topics) % len(TOPIC_COLORS)]
        topic = self._open_topic(chat, self._user(user_id or 1001), name, color)
        thread_id = int(topic["message_thread_id"])
        self._push_update("message", self._message_dict(chat.messages[thread_id]))
        return thread_id

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with this error, then it works again.

        ``migrate_to_chat_id`` adds that parameter (a group upgraded to a supergroup).

        A 429 gets ``retry_after`` (default 1) and the description "Too Many Requests: retry
        after N". ``method="*"`` matches any method except getUpdates. Failures queue up.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        failure = _Failure(
            error_code, description, retry_after, times, migrate_to_chat_id=migrate_to_chat_id
        )
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def clear_failures(self) -> None:
        """Forgets every queued failure (an outage ends)."""
        self._failures.clear()

    def slow_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take ``seconds`` longer, then succeed."""
        failure = _Failure(200, "", None, times, delay=seconds)
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def hold(self, method: str) -> None:
        """Calls of ``method`` wait (unanswered) until :meth:`release`; see :meth:`held`."""
        self._holds[method.lower()] = _Hold()

    def held(self, method: str) -> int:
        """How many calls of ``method`` are waiting in a hold now."""
        hold = self._holds.get(method.lower())
        return hold.waiting if hold else 0

    def release(self, method: str, *, drop: bool = False) -> None:
        """Lets held calls of ``method`` go on; with ``drop`` they fail with 500 and change
        nothing (as if the request never reached Telegram). Later calls are not held."""
        hold = self._holds.pop(method.lower(), None)
        if hold is not None:
            hold.drop = drop
            hold.released.set()
            self._notify()

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> None:
        """The group becomes a supergroup with a new id, as Telegram does it: a service
        message in each chat (migrate_to_chat_id in the old, migrate_from_chat_id in the new),
        and sends to the old id fail with 400 and parameters.migrate_to_chat_id."""
        old = self._chats[old_chat_id]
        self.add_chat(new_chat_id, chat_type="supergroup", title=old.info.get("title"))
        self._chats[new_chat_id].members.update(old.members)
        user = self._user(1001)
        for chat, field_name, value in (
            (old, "migrate_to_chat_id", new_chat_id),
            (self._chats[new_chat_id], "migrate_from_chat_id", old_chat_id),
        ):
            message = self._new_message(chat, user)
            payload = self._message_dict(message)
            payload[field_name] = value
            self._push_update("message", payload)
        self._migrated[old_chat_id] = new_chat_id

    # ========================================================================================
    # Test-side API: what users do (each makes an update for getUpdates)
    # ========================================================================================

    def _push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        if kind in (self._allowed_updates or DEFAULT_UPDATE_TYPES):
            self._updates.append(update)
        self._notify()
        return update

    def _sender(
        self, chat_id: int, user_id: int | None, chat_type: str | None
    ) -> tuple[_Chat, dict[str, Any]]:
        if chat_id not in self._chats:
            self.add_chat(chat_id, chat_type=chat_type)
        chat = self._chats[chat_id]
        if chat.type == "private":
            if user_id not in (None, chat_id):
                raise ValueError(f"in private chat {chat_id} only user {chat_id} can write")
            user_id = chat_id
        return chat, self._user(user_id if user_id is not None else 1001)

    def _user_place(
        self, chat: _Chat, reply_to: int | None, thread_id: int | None
    ) -> dict[str, Any]:
        """Where a user's message goes: the reply and the forum topic, checked like a client."""
        topic = thread_id
        if thread_id is not None and thread_id not in chat.topics:
            raise ValueError(f"chat {chat.id} has no topic {thread_id}")
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None or target.deleted:
                raise ValueError(f"no message {reply_to} in chat {chat.id} to reply to")
            if thread_id is not None and target.topic != thread_id:
                raise ValueError(f"message {reply_to} is not in topic {thread_id}")
            topic = target.topic
        return {"reply_to": reply_to, "topic": topic}

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A user writes ``text``; returns the Message the bot will get.

        Commands get bot_command entities as real clients have (``/imagine@ImagineTestBot``
        included). In private chats the user is the chat (user_id = chat_id); elsewhere
        user_id defaults to 1001. ``thread_id`` writes in that forum topic (a reply goes to
        the topic of the message it replies to); otherwise in General.
        """
        chat, user = self._sender(chat_id, user_id, chat_type)
        message = self._new_message(
            chat,
            user,
            text=text,
            entities=command_entities(text) if entities is None else entities,
            **self._user_place(chat, reply_to, thread_id),
        )
        payload = self._message_dict(message)
        self._push_update("message", payload)
        return payload

    def send_photo(
        self,
        chat_id: int,
        image_bytes: bytes,
        *,
        caption: str | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A user sends a photo (with an optional caption such as ``/ask what is this?``).

        The bytes must be an image; they are stored as the largest PhotoSize (getFile and the
        download give them back unchanged), with smaller JPEG sizes like Telegram makes.
        """
        chat, user = self._sender(chat_id, user_id, chat_type)
        sizes = self._store_photo(image_bytes)
        message = self._new_message(
            chat,
            user,
            photo_sizes=sizes,
            photo=image_bytes,
            caption=caption,
            entities=command_entities(caption) if caption else [],
            **self._user_place(chat, reply_to, thread_id),
        )
        payload = self._message_dict(message)
        self._push_update("message", payload)
        return payload

    def send_document(
        self,
        chat_id: int,
        data: bytes,
        *,
        file_name: str = "file.bin",
        mime_type: str | None = None,
        caption: str | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A user sends a file (e.g. an image "as a file"), in topic ``thread_id`` if given."""
        chat, user = self._sender(chat_id, user_id, chat_type)
        stored = self._store_document(data, file_name, mime_type)
        message = self._new_message(
            chat,
            user,
            document_info=stored.document(),
            document=data,
            caption=caption,
            entities=command_entities(caption) if caption else [],
            **self._user_place(chat, reply_to, thread_id),
        )
        payload = self._message_dict(message)
        self._push_update("message", payload)
        return payload

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        strict: bool = True,
    ) -> str:
        """A user presses the inline button with this callback_data; returns the query id.

        With ``strict`` the message must exist and currently show such a button.
        """
        chat, user = self._sender(chat_id, user_id, None)
        message = chat.messages.get(message_id)
        if strict:
            if message is None or message.deleted:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            if all(b.get("callback_data") != data for b in message.buttons):
                raise ValueError(
                    f"message {message_id} has no button with callback_data {data!r}: "
                    f"{message.buttons}"
                )
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        self._callbacks[query_id] = _CallbackQuery(
            query_id, chat.id, message_id, user["id"], data, self.clock()
        )
        payload: dict[str, Any] = {
            "id": query_id,
            "from": dict(user),
            "chat_instance": str(abs(hash((self.bot_id, chat.id)))),
            "data": data,
        }
        if message is not None and not message.deleted:
            payload["message"] = self._message_dict(message)
        self._push_update("callback_query", payload)
        return query_id

    def user_deletes(self, chat_id: int, message_id: int) -> None:
        """The user deletes a message (bots are not told; later edits fail "not found")."""
        message = self._chats[chat_id].messages[message_id]
        message.deleted, message.deleted_by = True, "user"
        self._notify()

    # ========================================================================================
    # Test-side API: observing
    # ========================================================================================

    def calls(self, method: str | None = None, *, chat_id: int | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally of one method (case-insensitive) and chat."""
        return [
            c
            for c in self._calls
            if (method is None or c.method.lower() == method.lower())
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def messages(
        self,
        chat_id: int,
        *,
        include_deleted: bool = True,
        topic: int | Anywhere | None = ANYWHERE,
    ) -> list[StoredMessage]:
        """Every message in the chat (users' and the bot's), by message id; with ``topic``
        only those in that forum topic (None: General)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            m
            for m in chat.messages.values()
            if (include_deleted or not m.deleted) and (topic is ANYWHERE or m.topic == topic)
        ]

    def drafts_in(self, chat_id: int, draft_id: int | None = None) -> list[Draft]:
        """The draft updates the chat was shown (of one draft, if given), oldest first."""
        return [
            d
            for d in self.drafts
            if d.chat_id == chat_id and (draft_id is None or d.draft_id == draft_id)
        ]

    def bot_messages(
        self,
        chat_id: int,
        *,
        include_deleted: bool = True,
        topic: int | Anywhere | None = ANYWHERE,
    ) -> list[StoredMessage]:
        """What the bot sent to the chat, oldest first; ``deleted`` marks what is gone. With
        ``topic``, only what it sent to that forum topic (None: General)."""
        return [
            m
            for m in self.messages(chat_id, include_deleted=include_deleted, topic=topic)
            if m.from_bot
        ]

    def topics(self, chat_id: int) -> dict[int, str]:
        """The forum's topics: message_thread_id -> name."""
        chat = self._chats.get(chat_id)
        return {t: info["name"] for t, info in chat.topics.items()} if chat else {}

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        return self._chats[chat_id].messages[message_id]

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def my_commands(self, scope: str = "default", language_code: str = "") -> list[tuple[str, str]]:
        """(command, description) pairs set for a scope key ("default", "chat:42", ...)."""
        return [
            (c["command"], c["description"]) for c in self.commands.get((scope, language_code), [])
        ]

    # ========================================================================================
    # Inline mode: queries, answers, chosen results and the messages they leave
    # ========================================================================================

    def _m_answerInlineQuery(self, params: Params) -> bool:
        query = self._inline_queries.get(params.string("inline_query_id") or "")
        if query is None or query.answer is not None:
            raise ApiError(QUERY_INVALID)
        results = params.json("results", "Bad Request: can't parse inline query results JSON")
        if not isinstance(results, list):
            raise ApiError('Bad Request: parameter "results" is required')
        if len(results) > INLINE_RESULTS_LIMIT:
            raise ApiError("Bad Request: too many inline query results specified")
        texts: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        checked = [self._inline_result(result, texts) for result in results]
        button = params.json("button", "Bad Request: can't parse InlineQueryResultsButton")
        if button is not None:
            self._check_results_button(button)
        cache_time = params.integer("cache_time")
        query.answer = InlineAnswer(
            inline_query_id=query.id,
            results=checked,
            cache_time=300 if cache_time is None else min(max(cache_time, 0), 86400),
            is_personal=params.flag("is_personal"),
            next_offset=params.string("next_offset") or "",
            button=button,
            time=time.monotonic(),
        )
        query.texts = texts
        self.inline_answers.append(query.answer)
        return True

    def _inline_result(
        self, raw: Any, texts: dict[str, tuple[str, list[dict[str, Any]]]]
    ) -> dict[str, Any]:
        """One InlineQueryResult checked like Telegram (articles only: the bot sends no other);
        the message it would send goes in ``texts``, by result id."""
        if not isinstance(raw, dict):
            raise ApiError("Bad Request: inline query result must be an object")
        kind = str(raw.get("type", "")).lower()
        result_id = raw.get("id")
        if not isinstance(result_id, str):
            raise ApiError('Bad Request: can\'t find field "id"')
        if not 1 <= len(result_id.encode()) <= RESULT_ID_LIMIT:
            raise ApiError("Bad Request: RESULT_ID_INVALID")
        if result_id in texts:
            raise ApiError("Bad Request: RESULT_ID_DUPLICATE")
        if kind != "article":
            raise ApiError(
                f'Bad Request: inline query result type "{kind}" is not supported by the emulator'
            )
        if not isinstance(raw.get("title"), str):
            raise ApiError('Bad Request: can\'t find field "title"')
        content = raw.get("input_message_content")
        if not isinstance(content, dict) or not isinstance(content.get("message_text"), str):
            raise ApiError('Bad Request: can\'t find field "message_text"')
        text, entities = format_text(
            content["message_text"],
            content.get("parse_mode"),
            content.get("entities"),
            limit=TEXT_LIMIT,
            too_long=TEXT_TOO_LONG,
            empty=TEXT_EMPTY,
        )
        markup = validate_reply_markup(raw.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise ApiError("Bad Request: inline keyboard expected")
        texts[result_id] = (text or "", entities)
        return {**raw, "type": kind, "reply_markup": markup}

    @staticmethod
    def _check_results_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise ApiError("Bad Request: can't parse InlineQueryResultsButton")
        if "web_app" in button:
            return
        start = button.get("start_parameter")
        if not isinstance(start, str) or not start:
            raise ApiError("Bad Request: can't use empty start_parameter")
        if len(start) > 64:
            raise ApiError("Bad Request: too long start_parameter specified")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", start):
            raise ApiError("Bad Request: unallowed characters in start_parameter are used")

    def send_inline_query(
        self, user_id: int, query: str, *, chat_type: str = "private", offset: str = ""
    ) -> str:
        """The user types ``@bot <query>`` in a chat of ``chat_type`` ("sender" is their own
        chat with the bot; private, group, supergroup, channel); returns the query id."""
        if not self.inline_mode:
            raise ValueError("inline mode is off for the bot (set tg.inline_mode = True)")
        query_id = str(5_000_000_000_000_000 + next(self._ids))
        self._inline_queries[query_id] = _InlineQuery(query_id, user_id, query)
        payload = {
            "id": query_id,
            "from": dict(self._user(user_id)),
            "query": query,
            "offset": offset,
            "chat_type": chat_type,
        }
        self._push_update("inline_query", payload)
        return query_id

    def inline_answer(self, query_id: str) -> InlineAnswer | None:
        """The bot's answer to the inline query, once it answered."""
        query = self._inline_queries.get(query_id)
        return query.answer if query else None

    def choose_inline_result(
        self, query_id: str, result_id: str, *, chat_id: int, chat_type: str | None = None
    ) -> StoredMessage:
        """The user picks a result of an answered query and sends it to ``chat_id`` (a group,
        or their own chat with the bot: private chats here are all with the bot).

        The message appears there from the user ``via_bot`` (and the bot gets it, as it gets
        every message in the emulator's chats). It has an inline_message_id only when the
        result has a keyboard; with ``inline_feedback`` the bot gets chosen_inline_result.
        """
        query = self._inline_queries[query_id]
        if query.answer is None:
            raise ValueError(f"inline query {query_id} has no answer to choose from")
        result = query.answer.result(result_id)
        chat, user = self._sender(chat_id, query.user_id, chat_type)
        text, entities = query.texts[result_id]
        markup = result.get("reply_markup")
        inline_message_id = f"AgAAA{secrets.token_urlsafe(24)}" if markup else None
        message = self._new_message(
            chat,
            user,
            text=text,
            entities=entities,
            reply_markup=markup,
            via_bot=dict(self.bot_user),
            inline_message_id=inline_message_id,
        )
        if inline_message_id is not None:
            self._inline_messages[inline_message_id] = message
        self._push_update("message", self._message_dict(message))
        if self.inline_feedback:
            chosen: dict[str, Any] = {
                "result_id": result_id,
                "from": dict(user),
                "query": query.query,
            }
            if inline_message_id is not None:
                chosen["inline_message_id"] = inline_message_id
            self._push_update("chosen_inline_result", chosen)
        return message

    def inline_message(self, inline_message_id: str) -> StoredMessage:
        """A message sent through inline mode that the bot can edit (text, photo, caption,
        keyboard and every version in ``history``)."""
        return self._inline_messages[inline_message_id]

    def press_inline_button(
        self, inline_message_id: str, data: str, *, user_id: int, strict: bool = True
    ) -> str:
        """A user presses a callback button under an inline message; returns the query id.

        The callback query carries the inline_message_id (no message, as on Telegram).
        """
        message = self._inline_messages[inline_message_id]
        if strict and all(b.get("callback_data") != data for b in message.buttons):
            raise ValueError(f"no button with callback_data {data!r}: {message.buttons}")
        user = self._user(user_id)
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        self._callbacks[query_id] = _CallbackQuery(
            query_id,
            message.chat_id,
            message.message_id,
            user_id,
            data,
            self.clock(),
            inline_message_id=inline_message_id,
        )
        payload = {
            "id": query_id,
            "from": dict(user),
            "chat_instance": str(abs(hash((self.bot_id, message.chat_id)))),
            "inline_message_id": inline_message_id,
            "data": data,
        }
        self._push_update("callback_query", payload)
        return query_id

    # ========================================================================================
    # Test-side API: waiting (wakes on every handled call or injected event; never polls)
    # ========================================================================================

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 10.0,  # noqa: ASYNC109 (a deadline with a report is the point)
    ) -> T:
        """Returns the predicate's first truthy value; raises AssertionError with a dump of the
        recent calls and messages if ``timeout`` passes first.

        The predicate is re-checked each time the emulator finishes a call or a test injects
        something, never on a timer. State outside the emulator (the bot's database, say) is
        therefore only seen at the bot's next call; a polling bot makes one at least every
        getUpdates timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self.report(f"condition not met within {timeout}s"))
            change = self._change
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(change.wait(), remaining)

    async def wait_for_call(
        self,
        method: str,
        where: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
        finished: bool = True,
    ) -> Call:
        """The first recorded call of ``method`` (matching ``where``), waiting if needed."""

        def find() -> Call | None:
            return next(
                (
                    c
                    for c in self.calls(method)
                    if (not finished or c.status) and (where is None or where(c))
                ),
                None,
            )

        return await self.wait_for(find, timeout)

    async def wait_for_bot_message(
        self,
        chat_id: int,
        where: Callable[[StoredMessage], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> StoredMessage:
        """The first message the bot sent to the chat (matching ``where``), waiting if needed."""

        def find() -> StoredMessage | None:
            return next((m for m in self.bot_messages(chat_id) if where is None or where(m)), None)

        return await self.wait_for(find, timeout)

    def report(self, headline: str = "emulator state", last: int = 30) -> str:
        """A readable dump: recent calls, pending updates and what the bot left in each chat."""
        lines = [f"{headline}; {len(self._calls)} calls, last {min(last, len(self._calls))}:"]
        lines += [f"  {c.summary(self._started_at)}" for c in self._calls[-last:]]
        lines.append(f"pending updates: {len(self._updates)}")
        for chat_id, chat in self._chats.items():
            lines.append(f"chat {chat_id} ({chat.type}):")
            lines += [f"  {m!r}" for m in list(chat.messages.values())[-10:]]
        return "\n".join(lines)
