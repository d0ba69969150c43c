"""The records tests read (calls, messages, files, drafts, answers) and internal state records."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from dataclasses import dataclass, field
from typing import Any


class Anywhere(enum.Enum):
    """The default of the ``topic`` filters: messages in any topic and in General."""

    ANYWHERE = "anywhere"


ANYWHERE = Anywhere.ANYWHERE


def _shorten(value: Any, limit: int = 60) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    # Other media by their Bot API field (animation, video, voice, audio, sticker, ...).
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    sender_chat: dict[str, Any] | None = None  # a channel post: the channel, and no "from"

    @property
    def kind(self) -> str:
        if self.forum_topic_created is not None:
            return "service"
        if self.photo_sizes:
            return "photo"
        if self.document_info is not None:
            return "document"
        if self.media:
            return next(iter(self.media))
        return "text"

    @property
    def invoice(self) -> dict[str, Any] | None:
        """The Invoice object of an invoice the bot sent (sendInvoice)."""
        return self.media.get("invoice")

    @property
    def successful_payment(self) -> dict[str, Any] | None:
        """The SuccessfulPayment of a user's payment service message."""
        return self.media.get("successful_payment")

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
class SentInvoice:
    """An invoice the bot sent (sendInvoice): what the user sees, and the payload only the bot
    sees. ``message_id`` is its message in ``chat_id``."""

    chat_id: int
    message_id: int
    title: str
    description: str
    payload: str
    currency: str
    total_amount: int
    prices: list[dict[str, Any]]
    start_parameter: str
    provider_token: str


@dataclass
class CheckoutAnswer:
    """The bot's accepted answer to a pre-checkout query (answerPreCheckoutQuery)."""

    pre_checkout_query_id: str
    ok: bool
    error_message: str | None
    user_id: int
    invoice_payload: str
    total_amount: int
    time: float  # time.monotonic()


@dataclass
class StarPayment:
    """A payment in Telegram Stars that went through; ``message`` is the successful_payment
    Message as the bot got it (redeliveries send the same one)."""

    telegram_payment_charge_id: str
    user_id: int
    chat_id: int
    invoice_message_id: int
    invoice_payload: str
    total_amount: int
    message: dict[str, Any]
    currency: str = "XTR"
    refunded: bool = False


@dataclass
class StarRefund:
    """A refundStarPayment Telegram accepted."""

    user_id: int
    telegram_payment_charge_id: str
    total_amount: int
    invoice_payload: str
    time: float  # time.monotonic()


@dataclass
class _PreCheckout:
    id: str
    invoice: SentInvoice
    user_id: int
    asked_at: float  # the emulator's clock()
    state: str = "pending"  # "answered" | "expired" (answered after checkout_timeout)
    answer: CheckoutAnswer | None = None


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
class WebhookDelivery:
    """One POST of an update to the webhook (a redelivery is another one)."""

    update_id: int
    attempt: int  # 1 for the first delivery of this update, 2 for the first redelivery...
    url: str  # where it went: the registered URL, rewritten by route_webhook
    started: float  # time.monotonic()
    finished: float | None = None  # None while in flight
    status: int | None = None  # the webhook's HTTP status; None if it never answered
    error: str | None = None  # what getWebhookInfo says about it; None when acknowledged

    @property
    def acknowledged(self) -> bool:
        """True when the webhook answered 2xx: Telegram forgets the update then."""
        return self.finished is not None and self.error is None

    def __repr__(self) -> str:
        outcome = "in flight" if self.finished is None else self.error or f"{self.status}"
        return f"<webhook update {self.update_id} #{self.attempt} -> {self.url}: {outcome}>"


@dataclass
class _Webhook:
    """The registered webhook (setWebhook)."""

    url: str
    secret_token: str
    max_connections: int


@dataclass
class _Redelivery:
    """An update the webhook failed: when it may go again and how long the next wait is."""

    failures: int = 0
    not_before: float = 0.0  # asyncio loop time
