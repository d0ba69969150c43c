"""/stats end to end: figures of finished and failed jobs for operators, a refusal for others."""

from __future__ import annotations

from tests.e2e.conftest import World

OPERATOR = 801
USER = 802
RU_OPERATOR = 803


async def test_operators_see_jobs_by_outcome_and_provider(world: World) -> None:
    tg = world.tg
    tg.add_user(RU_OPERATOR, language_code="ru")
    world.arta.fail_next_job("FAILED")
    async with world.bot(admin_user_ids=f"{OPERATOR},{RU_OPERATOR}", allowed_user_ids=str(USER)):
        failed = tg.send_text(USER, "/imagine doomed fox")
        status = await world.status_of(USER, failed)
        await tg.wait_for(lambda: (status.text or "").startswith("⚠️"))
        for prompt in ("a fox", "a cat"):
            done = tg.send_text(USER, f"/imagine {prompt}")
            await world.photos_for(USER, done, 1)
            done_status = await world.status_of(USER, done)
            await tg.wait_for(lambda s=done_status: s.deleted)  # the row is closed before this
        elsewhere = tg.send_text(OPERATOR, "/imagine a bird")
        await world.photos_for(OPERATOR, elsewhere, 1)
        last_status = await world.status_of(OPERATOR, elsewhere)
        await tg.wait_for(lambda: last_status.deleted)

        command = tg.send_text(OPERATOR, "/stats")
        answer = (await world.reply_to(OPERATOR, command, lambda m: True)).text or ""
        today, week, now = answer.split("\n\n")
        for block in (today, week):
            assert "Jobs: 4 (done 3, failed 1)" in block
            assert "By provider: arta 4" in block
            assert "Active chats: 2" in block
            assert "Median wait" in block and " s" in block
        assert now == "⏳ Now: 0 queued, 0 running"

        command = tg.send_text(RU_OPERATOR, "/stats")
        russian = (await world.reply_to(RU_OPERATOR, command, lambda m: True)).text or ""
        assert "Задач: 4 (готово 3, ошибка 1)" in russian
        assert "⏳ Сейчас: в очереди 0, в работе 0" in russian


async def test_others_are_refused(world: World) -> None:
    tg = world.tg
    async with world.bot(admin_user_ids=str(OPERATOR), allowed_user_ids=str(USER)):
        command = tg.send_text(USER, "/stats")
        answer = await world.reply_to(USER, command, lambda m: True)
        assert answer.text == "Sorry, /stats is for the bot's operators only."
