"""Flood limits: many chats at once stay inside Telegram's limits."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.fakes.arta import png_bytes


async def test_twenty_chats_at_once_all_delivered_without_a_429(world: World) -> None:
    tg = world.tg
    tg.flood_limits = True
    chats = list(range(2001, 2021))
    async with world.bot(max_concurrent_jobs=20, status_edit_interval=0.0):
        commands = {chat: tg.send_text(chat, f"/imagine fox number {chat}") for chat in chats}
        for chat, command in commands.items():
            [photo] = await world.photos_for(chat, command, 1)
            assert photo.photo == png_bytes(0)
    assert tg.too_many_requests_sent == 0
    assert len(world.arta.job_list) == 20


async def test_a_busy_group_is_paced_not_refused(world: World) -> None:
    tg = world.tg
    tg.flood_limits = True
    group = -1009000
    tg.add_chat(group, chat_type="supergroup")
    async with world.bot(max_concurrent_jobs=4, status_edit_interval=0.0):
        commands = [tg.send_text(group, f"/imagine fox {u}", user_id=u) for u in (1, 2, 3)]
        for command in commands:
            await world.photos_for(group, command, 1)
    assert tg.too_many_requests_sent == 0
