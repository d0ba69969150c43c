"""The pacers' learned stage durations outlive a restart: saved, then loaded by a new pacer."""

from __future__ import annotations

from pathlib import Path

from bot.runtime import Runtime
from bot.settings import load_settings
from bot.storage.database import Storage
from providers.core.polling import Pacer, StageFigures, load_paces, save_paces
from providers.seeds.arta import ARTA

TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtok"


async def test_learned_durations_survive_a_restart(database: Path | str) -> None:
    path = database
    storage = await Storage.open(path)
    before = Pacer(typical=9.0)
    for seconds in (2.5, 3.0, 3.5):
        before.learn(seconds, model="Flux")
    before.learn(0.5, model="Flux", stage="queued")
    await save_paces(storage, {"arta": before, "prodia": Pacer(typical=5.0)})
    await storage.close()

    storage = await Storage.open(path)
    after, untouched = Pacer(typical=9.0), Pacer(typical=5.0)
    await load_paces(storage, {"arta": after, "prodia": untouched})
    await storage.close()

    assert after.expected("Flux") == 3.0  # learned, not the declared 9 s
    assert after.figures("arta") == before.figures("arta")
    assert untouched.expected("Flux") == 5.0 and not untouched.learned("Flux")


async def test_a_save_replaces_what_was_kept_and_skips_unreadable_rows(
    database: Path | str,
) -> None:
    storage = await Storage.open(database)
    await storage.save_paces([StageFigures("arta", "Flux", "done", (1.0, 2.0))])
    await storage.save_paces([StageFigures("arta", "Flux", "done", (4.0,))])
    await storage.backend.write(
        lambda db: db.execute(
            "INSERT INTO stage_durations VALUES ('arta', 'Bad', 'done', 'not json', 0)"
        )
    )

    assert await storage.load_paces() == [StageFigures("arta", "Flux", "done", (4.0,))]
    await storage.close()


async def test_nothing_is_written_when_nothing_was_learned(database: Path | str) -> None:
    storage = await Storage.open(database)
    pacer = Pacer()
    pacer.learn(3.0)
    await save_paces(storage, {"arta": pacer})
    await storage.backend.write(lambda db: db.execute("DELETE FROM stage_durations"))
    await save_paces(storage, {"arta": pacer})  # nothing new since

    assert await storage.load_paces() == []
    await storage.close()


async def test_the_bot_reloads_its_pacers_at_start_and_keeps_them_at_a_stop(
    tmp_path: Path,
) -> None:
    settings = load_settings(_env_file=None, telegram_bot_token=TOKEN, data_dir=tmp_path)
    runtime = await Runtime.open(settings)
    arta = next(p for p in runtime.registry.providers if p.name == "arta")
    assert arta.pacer.expected("Flux") == ARTA.typical_seconds  # the declared duration
    arta.pacer.learn(2.0, model="Flux")
    await runtime.close()

    runtime = await Runtime.open(settings)
    try:
        again = next(p for p in runtime.registry.providers if p.name == "arta")
        assert again.pacer.expected("Flux") == 2.0
    finally:
        await runtime.close()
