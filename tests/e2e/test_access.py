"""Who may use the bot: operators (ADMIN_USER_IDS) add rights and never close an open bot."""

from __future__ import annotations

from tests.e2e.conftest import World

OPERATOR = 801
STRANGER = 802
FRIEND = 803


async def test_operators_set_and_no_allow_lists_a_stranger_draws(world: World) -> None:
    tg = world.tg
    async with world.bot(admin_user_ids=str(OPERATOR)):
        command = tg.send_text(STRANGER, "/imagine a fox")
        await world.photos_for(STRANGER, command, 1)
        refusals = [m for m in tg.bot_messages(STRANGER) if "private" in (m.text or "")]
        assert refusals == []
        mine = tg.send_text(OPERATOR, "/imagine a fox")
        await world.photos_for(OPERATOR, mine, 1)


async def test_with_an_allow_list_the_operator_gets_in_and_a_stranger_is_refused(
    world: World,
) -> None:
    tg = world.tg
    async with world.bot(admin_user_ids=str(OPERATOR), allowed_user_ids=str(FRIEND)):
        refused = tg.send_text(STRANGER, "/imagine a fox")
        reply = await world.reply_to(STRANGER, refused, lambda m: True)
        assert "private" in (reply.text or "")
        mine = tg.send_text(OPERATOR, "/imagine a fox")
        await world.photos_for(OPERATOR, mine, 1)
        friend = tg.send_text(FRIEND, "/imagine a fox")
        await world.photos_for(FRIEND, friend, 1)
        assert len(world.arta.job_list) == 2
