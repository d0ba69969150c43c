"""Chats, members and forum topics: add_chat, set_member_status..., getChat*, createForumTopic."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.telegram.core import EmulatorCore
from tests.fakes.telegram.errors import NOT_A_FORUM, TOPIC_RIGHTS, ApiError
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import _Chat

TOPIC_COLORS = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)


class Chats(EmulatorCore):
    """Who is in which chat, with what status; groups that migrate; forum topics."""

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
