"""Flood control: Telegram's (approximate) limits per chat, per group and overall, and 429s.

Telegram does not document what counts. By default the emulator counts what surely does
(:data:`FLOOD_COUNTED`); ``FloodPolicy(count_everything=True)`` is stricter: deletions, chat
actions and every edit count too, in private chats as in groups (:data:`STRICT_COUNTED`), and
``global_per_second`` lowers the overall limit (``FloodPolicy.strict()`` does both).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

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
        "sendInvoice",
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

# What the strict mode counts besides (and any edit* method): deletions, chat actions.
STRICT_COUNTED = FLOOD_COUNTED | frozenset(
    m.lower()
    for m in ["deleteMessage", "deleteMessages", "sendChatAction", "stopMessageLiveLocation"]
)


@dataclass
class FloodPolicy:
    """Telegram's (approximate) limits; see the package docstring."""

    private_burst: float = 3.0  # token bucket size per chat (groups too, despite the name)
    private_per_second: float = 1.0  # refill rate
    group_per_minute: int = 20  # sliding 60 s window per group/supergroup
    global_per_second: int = 30  # sliding 1 s window over all chats
    # Count deletions, chat actions and every edit against the chat's and the global budget,
    # in private chats too (Telegram does not say they are free).
    count_everything: bool = False

    @classmethod
    def strict(cls, global_per_second: int = 25) -> FloodPolicy:
        """Everything counted everywhere, and a lower overall limit."""
        return cls(global_per_second=global_per_second, count_everything=True)

    def counts(self, method: str) -> bool:
        """Whether a call of ``method`` (any case) is counted."""
        name = method.lower()
        if self.count_everything:
            return name in STRICT_COUNTED or name.startswith("edit")
        return name in FLOOD_COUNTED


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
