"""Sending, editing and deleting messages: send*, sendMessageDraft, sendChatAction, edit*."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from tests.fakes.telegram.errors import (
    ALBUM_EMPTY,
    ALBUM_LIMIT,
    ALBUM_TOO_BIG,
    CAPTION_LIMIT,
    CAPTION_TOO_LONG,
    DELETE_NOT_FOUND,
    DRAFT_ID_INVALID,
    DRAFT_PEER_INVALID,
    EDIT_NOT_FOUND,
    EDIT_TOO_LONG,
    INLINE_MESSAGE_INVALID,
    INLINE_UPLOAD_REFUSED,
    NOT_MODIFIED,
    TEXT_EMPTY,
    TEXT_LIMIT,
    TEXT_TOO_LONG,
    THREAD_NOT_FOUND,
    ApiError,
)
from tests.fakes.telegram.files import Files
from tests.fakes.telegram.formatting import format_text, validate_reply_markup
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import Draft, StoredMessage, _Chat

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


class Messages(Files):
    """The methods that put messages in chats and change them."""

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
