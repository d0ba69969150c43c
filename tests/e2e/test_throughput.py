"""A small run of the benchmark (``make bench``): the bot as a process, against the Bot API
emulator with Telegram's flood limits on. Only what must hold at any speed is checked: every
picture arrives and Telegram never answers 429."""

from __future__ import annotations

from bench.run import burst, busy_groups, run

FAST = {"POLL_INTERVAL": "0.1"}


async def test_thirty_private_chats_at_once_all_get_their_picture_without_a_429() -> None:
    result = await run(burst(30), upstream=0.5, env=FAST, cleanup_wait=5)
    assert result.lost == 0
    assert result.too_many_requests == 0


async def test_busy_groups_all_get_their_pictures_without_a_429() -> None:
    result = await run(busy_groups(groups=3, per_group=4), upstream=0.5, env=FAST, cleanup_wait=5)
    assert result.lost == 0
    assert result.too_many_requests == 0
