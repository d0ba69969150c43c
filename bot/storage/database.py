"""The one storage the bot calls: the SQLite connection with a repository per concern.

A second backend implements the same methods (and the same schema scripts in schema.py) and
:meth:`Runtime.open <bot.runtime.Runtime.open>` picks it.
"""

from __future__ import annotations

from bot.storage.chats import ChatsRepository
from bot.storage.credits import CreditsRepository
from bot.storage.health import HealthRepository
from bot.storage.jobs import JobsRepository
from bot.storage.pace import PaceRepository
from bot.storage.prompts import PromptsRepository


class Storage(
    ChatsRepository,
    JobsRepository,
    HealthRepository,
    PromptsRepository,
    PaceRepository,
    CreditsRepository,
):
    """Open with :meth:`open`, close with :meth:`close`. All methods are coroutine-safe.

    Every write finishes even if the coroutine that asked for it is cancelled (a /cancel or a
    shutdown never leaves half a change), and a locked database is retried for up to
    ``LOCKED_RETRY_SECONDS`` before :class:`StorageError` is raised.
    """
