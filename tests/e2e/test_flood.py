"""Flood limits: many chats at once stay inside Telegram's limits, and a 429 pauses only what
it concerns."""

from __future__ import annotations

from bench.run import burst, run
from tests.e2e.conftest import World
from tests.fakes.arta import png_bytes
from tests.fakes.telegram import FloodPolicy

FAST = {"POLL_INTERVAL": "0.1"}


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


async def test_a_429_in_one_chat_pauses_that_chat_only_and_loses_nothing(world: World) -> None:
    tg = world.tg
    tg.flood_limits = True
    tg.fail_next("sendPhoto", retry_after=5)  # chat 2101's first photo
    async with world.bot(status_edit_interval=0.0):
        first = tg.send_text(2101, "/imagine a fox in the snow")
        refused = await tg.wait_for(lambda: [c for c in tg.calls("sendPhoto") if c.status == 429])
        refused_at = refused[0].time
        second = tg.send_text(2102, "/imagine a fox in the rain")
        [other] = await world.photos_for(2102, second, 1)
        [photo] = await world.photos_for(2101, first, 1)
    sent = {
        c.chat_id: c
        for c in tg.calls("sendPhoto")
        if c.ok and not str(c.params.get("caption", "")).startswith("👀")  # not a preview
    }
    assert sent[2102].time < refused_at + 5  # the other chat did not wait
    # Chat 2101 waited out its retry_after, for everything it sends, and lost nothing.
    assert [c for c in tg.calls(chat_id=2101) if refused_at < c.time < refused_at + 4.9] == []
    assert other.photo == photo.photo == png_bytes(0)
    assert tg.too_many_requests_sent == 1


async def test_a_burst_against_a_strict_telegram_gets_every_picture_with_few_429s() -> None:
    """Deletions, chat actions and edits counted in private chats too, 25 a second overall."""
    result = await run(
        burst(60), upstream=0.5, env=FAST, cleanup_wait=15, policy=FloodPolicy.strict()
    )
    assert result.lost == 0
    assert result.statuses_left == 0
    assert result.too_many_requests <= 6, result.too_many_by_method
