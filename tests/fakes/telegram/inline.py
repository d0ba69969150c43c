"""Inline mode: inline queries, checked answers, chosen results and their inline messages."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from tests.fakes.telegram.core import EmulatorCore
from tests.fakes.telegram.errors import (
    INLINE_RESULTS_LIMIT,
    QUERY_INVALID,
    RESULT_ID_LIMIT,
    TEXT_EMPTY,
    TEXT_LIMIT,
    TEXT_TOO_LONG,
    ApiError,
)
from tests.fakes.telegram.formatting import format_text, validate_reply_markup
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import InlineAnswer, StoredMessage, _CallbackQuery, _InlineQuery


class Inline(EmulatorCore):
    """Users' inline queries and chosen results; the bot's answerInlineQuery."""

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
