"""The bot itself: getMe, its commands and descriptions, logOut and close."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.telegram.core import EmulatorCore
from tests.fakes.telegram.errors import ApiError
from tests.fakes.telegram.params import Params


class Profile(EmulatorCore):
    """The bot's identity and settings as @BotFather and the set* methods leave them."""

    def _m_getMe(self, params: Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, params: Params) -> bool:
        return True

    def _m_close(self, params: Params) -> bool:
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

    def my_commands(self, scope: str = "default", language_code: str = "") -> list[tuple[str, str]]:
        """(command, description) pairs set for a scope key ("default", "chat:42", ...)."""
        return [
            (c["command"], c["description"]) for c in self.commands.get((scope, language_code), [])
        ]
