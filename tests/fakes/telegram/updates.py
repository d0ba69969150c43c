"""Updates: users' actions (messages, presses), getUpdates long polling, callback answers.

The webhook methods and the delivery of updates to a webhook are in ``webhook``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from tests.fakes.telegram.errors import (
    GET_UPDATES_CONFLICT,
    QUERY_INVALID,
    WEBHOOK_CONFLICT,
    ApiError,
)
from tests.fakes.telegram.files import Files
from tests.fakes.telegram.formatting import command_entities
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import CallbackAnswer, _CallbackQuery, _Chat

MEDIA_FILES: dict[str, tuple[str | None, str, str | None]] = {
    # kind: (mime type, file extension, file name)
    "animation": ("video/mp4", "mp4", "funny.gif.mp4"),
    "video": ("video/mp4", "mp4", "clip.mp4"),
    "voice": ("audio/ogg", "oga", None),
    "audio": ("audio/mpeg", "mp3", "song.mp3"),
    "sticker": (None, "webp", None),
    "video_note": (None, "mp4", None),
}


class Updates(Files):
    """Users' actions become updates; the bot fetches them and answers button presses."""

    _albums_sent = 0

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

    def send_album(
        self,
        chat_id: int,
        images: list[bytes],
        *,
        caption: str | None = None,
        caption_on: int = 0,
        user_id: int | None = None,
        chat_type: str | None = None,
        thread_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """A user sends 2-10 photos as one album: as on Telegram, one message (and update) per
        photo, sharing a ``media_group_id``, the caption on photo ``caption_on`` only."""
        if not 2 <= len(images) <= 10:
            raise ValueError("an album holds 2 to 10 photos")
        chat, user = self._sender(chat_id, user_id, chat_type)
        self._albums_sent += 1
        group = f"user-album-{self._albums_sent}"
        sent: list[dict[str, Any]] = []
        for index, image in enumerate(images):
            text = caption if index == caption_on else None
            message = self._new_message(
                chat,
                user,
                photo_sizes=self._store_photo(image),
                photo=image,
                caption=text,
                entities=command_entities(text) if text else [],
                media_group_id=group,
                **self._user_place(chat, None, thread_id),
            )
            payload = self._message_dict(message)
            self._push_update("message", payload)
            sent.append(payload)
        return sent

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

    def send_media(
        self,
        chat_id: int,
        kind: str,
        data: bytes = b"\x00" * 64,
        *,
        caption: str | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A user sends media that is neither a photo nor a plain file: ``kind`` is the Bot API
        field (animation, video, voice, audio, sticker or video_note), in its real shape; an
        animation also carries ``document``, as on Telegram. Stickers and video notes take no
        caption."""
        if kind in ("sticker", "video_note") and caption is not None:
            raise ValueError(f"a {kind} has no caption")
        mime, extension, name = MEDIA_FILES[kind]
        stored = self._store_file(data, kind, extension, mime_type=mime, file_name=name)
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        shapes: dict[str, dict[str, Any]] = {
            "animation": {"width": 320, "height": 240, "duration": 3, "file_name": name},
            "video": {"width": 640, "height": 360, "duration": 5, "file_name": name},
            "voice": {"duration": 4},
            "audio": {"duration": 180, "title": "Song", "performer": "Band", "file_name": name},
            "sticker": {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "🙂",
            },
            "video_note": {"length": 240, "duration": 6},
        }
        fields = {**base, **shapes[kind]}
        if mime and kind not in ("sticker", "video_note"):
            fields["mime_type"] = mime
        media = {kind: fields}
        if kind == "animation":
            media["document"] = {**base, "file_name": name, "mime_type": mime}
        chat, user = self._sender(chat_id, user_id, chat_type)
        message = self._new_message(
            chat,
            user,
            media=media,
            caption=caption,
            entities=command_entities(caption) if caption else [],
            **self._user_place(chat, reply_to, thread_id),
        )
        payload = self._message_dict(message)
        self._push_update("message", payload)
        return payload

    def channel_post(
        self,
        chat_id: int,
        text: str,
        *,
        via_bot: bool = False,
        edited: bool = False,
    ) -> dict[str, Any]:
        """A post in channel ``chat_id`` (added as a channel if new): no "from", the channel as
        ``sender_chat``; ``via_bot`` sent through this bot's inline mode, ``edited`` an
        edited_channel_post of it."""
        if chat_id not in self._chats:
            self.add_chat(chat_id, chat_type="channel")
        chat = self._chats[chat_id]
        message = self._new_message(
            chat,
            {},
            text=text,
            entities=command_entities(text),
            sender_chat=dict(chat.info),
            via_bot=dict(self.bot_user) if via_bot else None,
        )
        payload = self._message_dict(message)
        if edited:
            payload["edit_date"] = payload["date"] + 1
        self._push_update("edited_channel_post" if edited else "channel_post", payload)
        return payload

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Any update as Telegram would send it (``kind`` is its field: message_reaction, poll,
        chat_boost, business_message, ...); delivered if the bot asked for that kind."""
        return self._push_update(kind, payload)

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
