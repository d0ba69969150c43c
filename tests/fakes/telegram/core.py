"""The emulator's state and the helpers every method group shares (chats, messages, updates)."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.fakes.server import FakeServer
from tests.fakes.telegram.errors import (
    BLOCKED,
    CANT_INITIATE,
    CAPTION_LIMIT,
    CAPTION_TOO_LONG,
    CHAT_NOT_FOUND,
    MIGRATED,
    REPLY_NOT_FOUND,
    THREAD_NOT_FOUND,
    ApiError,
)
from tests.fakes.telegram.formatting import format_text
from tests.fakes.telegram.limits import FloodControl, FloodPolicy
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import (
    Call,
    CallbackAnswer,
    CheckoutAnswer,
    Draft,
    InlineAnswer,
    SentInvoice,
    StarPayment,
    StarRefund,
    StoredFile,
    StoredMessage,
    WebhookDelivery,
    _CallbackQuery,
    _Chat,
    _Failure,
    _Hold,
    _InlineQuery,
    _PreCheckout,
    _Redelivery,
    _Webhook,
)

# Update types delivered when allowed_updates was never set (or set to []): Telegram's
# default leaves out only chat_member and reactions.
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "callback_query",
        "my_chat_member",
        "inline_query",
        "chosen_inline_result",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

_Handler = Callable[[Params], Any]


class EmulatorCore(FakeServer):
    """The state of one emulated bot and the helpers its method groups share.

    The groups (profile, updates, messages, files, chats, inline, payments, faults) subclass
    it and ``server.BotApiEmulator`` joins them; every ``_m_<method>`` is a Bot API method.
    """

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
        self.checkout_timeout = 10.0  # seconds (clock()) Telegram waits for answerPreCheckoutQuery
        # Webhook delivery (see webhook.py): Telegram waits about 60 s for an answer and retries
        # at once, then after 2, 4, 8... s; tests want all of it in fractions of a second.
        self.webhook_timeout = 5.0  # seconds the webhook has to answer a POST
        self.webhook_retry_delay = 0.05  # the wait before the 2nd retry; it doubles from there
        self.webhook_max_retry_delay = 0.5  # the longest wait between two deliveries
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
        self.checkout_answers: list[CheckoutAnswer] = []
        self.payments: list[StarPayment] = []
        self.refunds: list[StarRefund] = []
        self.webhook_url = ""
        self.webhook_deliveries: list[WebhookDelivery] = []  # every POST, oldest first
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
        self._invoices: dict[tuple[int, int], SentInvoice] = {}  # (chat, message id) -> invoice
        self._pre_checkouts: dict[str, _PreCheckout] = {}
        self._photo_groups: dict[str, list[dict[str, Any]]] = {}  # any size's file_id -> sizes
        self._file_paths: dict[str, StoredFile] = {}
        self._ids = itertools.count(1)
        self._change = asyncio.Event()
        self._closing = False
        self._session: aiohttp.ClientSession | None = None
        self._webhook: _Webhook | None = None
        self._webhook_routes: dict[str | None, str] = {}  # host (None: any) -> base URL
        self._webhook_retries: dict[int, _Redelivery] = {}  # update_id -> its failures
        self._webhook_in_flight: set[int] = set()
        self._webhook_tasks: set[asyncio.Task[None]] = set()
        self._webhook_pusher: asyncio.Task[None] | None = None
        self._webhook_session: aiohttp.ClientSession | None = None
        self._webhook_error: tuple[int, str] | None = None  # (unix time, message)
        self._started_at = time.monotonic()
        # Every _m_<method> is a Bot API method (matched case-insensitively, like Telegram).
        self._handlers: dict[str, _Handler] = {
            name[3:].lower(): getattr(self, name) for name in dir(self) if name.startswith("_m_")
        }

    def _notify(self) -> None:
        """Wakes everything waiting for a change (long polls, wait_for)."""
        self._change.set()
        self._change = asyncio.Event()

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
            from_bot=sender.get("id") == self.bot_id,
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
        result: dict[str, Any] = {"message_id": message.message_id}
        if message.sender:
            result["from"] = dict(message.sender)
        if message.sender_chat is not None:
            result["sender_chat"] = dict(message.sender_chat)
        result.update(chat=dict(chat.info), date=message.date)
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
        for name, value in message.media.items():
            result[name] = dict(value)
        return result

    def _sendable_message(self, chat: _Chat, message_id: int, missing: str) -> StoredMessage:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise ApiError(missing)
        return message

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
