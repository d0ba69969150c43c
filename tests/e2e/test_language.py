"""Both languages end to end: the Telegram language picks them, /language overrides per chat."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import World
from tests.e2e.test_model import button
from tests.fakes.arta import png_bytes
from tests.fakes.telegram import StoredMessage

RU_USER = 1301
EN_USER = 1302
GROUP = -1001300


async def reply(world: World, chat_id: int, text: str, user_id: int | None = None) -> str:
    """The text of the bot's first reply to ``text`` sent in the chat."""
    command = world.tg.send_text(chat_id, text, user_id=user_id)
    return (await world.reply_to(chat_id, command, lambda m: True)).text or ""


async def menu_of(world: World, chat_id: int, command: str) -> StoredMessage:
    sent = world.tg.send_text(chat_id, command)
    return await world.reply_to(chat_id, sent, lambda m: bool(m.buttons))


def answered(world: World, text: str) -> bool:
    return any(a.text == text for a in world.tg.callback_answers)


def texts_of(message: StoredMessage) -> list[str]:
    return [version.text or "" for version in message.history]


async def test_a_russian_user_gets_russian_help_statuses_errors_and_buttons(world: World) -> None:
    tg, arta = world.tg, world.arta
    tg.add_user(RU_USER, language_code="ru")
    async with world.bot():
        help_text = await reply(world, RU_USER, "/help")
        assert help_text.startswith("Привет! Я рисую картинки")
        assert "В группах обращайтесь ко мне так: /imagine@" in help_text

        arta.queue_polls = arta.progress_polls = 10**6
        command = tg.send_text(RU_USER, "/imagine лиса в снегу --n 2")
        status = await world.status_of(RU_USER, command)
        await tg.wait_for(lambda: "в очереди у arta/flux" in (status.text or ""))
        arta.queue_polls = 0
        await tg.wait_for(lambda: "рисует arta/flux" in (status.text or ""))
        arta.progress_polls = 0
        photos = await world.photos_for(RU_USER, command, 2)
        assert photos[0].caption and photos[0].caption.startswith("лиса в снегу\n\n🎨 arta/flux")
        await tg.wait_for(lambda: status.deleted)
        assert not [t for t in texts_of(status) if "drawing" in t or "waiting" in t]

        arta.fail_next_job("FAILED")
        failing = tg.send_text(RU_USER, "/imagine обречённая лиса")
        failed = await world.status_of(RU_USER, failing)
        await tg.wait_for(lambda: (failed.text or "").startswith("⚠️ ARTA: не смог"))
        assert failed.text and failed.text.endswith(
            "Попробуйте чуть позже или выберите другую модель в /model."
        )

        assert (await reply(world, RU_USER, "/imagine --n 2")).startswith(
            "Напишите, что нарисовать.\nКак писать: /imagine <описание>"
        )
        assert "рисует от 1 до 4 изображений" in await reply(world, RU_USER, "/imagine лиса --n 5")
        assert (await reply(world, RU_USER, "/model fluxx")).startswith(
            "Неизвестная модель «fluxx»."
        )
        assert await reply(world, RU_USER, "/cancel") == "У вас нет запущенных задач в этом чате."

        menu = await menu_of(world, RU_USER, "/model")
        assert (menu.text or "").startswith("🎨 Модель для картинок: arta/flux")
        tg.press_button(RU_USER, menu.message_id, button(menu, "Medieval")["callback_data"])
        await tg.wait_for(lambda: answered(world, "Теперь используется arta/medieval"))
        await tg.wait_for(lambda: "Модель для картинок: arta/medieval" in (menu.text or ""))

        language = await menu_of(world, RU_USER, "/language")
        assert (language.text or "").startswith("🌐 Язык: русский, по настройкам вашего Telegram.")
        labels = [b["text"] for b in language.buttons]
        assert labels == ["English", "Русский", "✅ Язык Telegram"]


async def test_an_english_user_gets_the_same_in_english(world: World) -> None:
    tg, arta = world.tg, world.arta
    tg.add_user(EN_USER, language_code="en")
    async with world.bot():
        assert (await reply(world, EN_USER, "/help")).startswith("Hi! I draw pictures")
        arta.queue_polls = 10**6
        command = tg.send_text(EN_USER, "/imagine a fox in the snow")
        status = await world.status_of(EN_USER, command)
        await tg.wait_for(lambda: "waiting in line at arta/flux" in (status.text or ""))
        arta.queue_polls = 0
        await world.photos_for(EN_USER, command, 1)
        arta.fail_next_job("FAILED")
        failing = tg.send_text(EN_USER, "/imagine a doomed fox")
        failed = await world.status_of(EN_USER, failing)
        await tg.wait_for(lambda: (failed.text or "").startswith("⚠️ ARTA: generation failed"))
        assert (await reply(world, EN_USER, "/imagine")).startswith("Tell me what to draw.")
        menu = await menu_of(world, EN_USER, "/model")
        assert (menu.text or "").startswith("🎨 Image model: arta/flux")
        language = await menu_of(world, EN_USER, "/language")
        assert [b["text"] for b in language.buttons] == [
            "English",
            "Русский",
            "✅ Telegram's language",
        ]


async def test_language_overrides_the_telegram_language_and_survives_a_restart(
    world: World,
) -> None:
    tg = world.tg
    tg.add_user(EN_USER, language_code="en")
    async with world.bot():
        assert await reply(world, EN_USER, "/language ru") == (
            "Готово: в этом чате я говорю по-русски."
        )
        assert (await reply(world, EN_USER, "/help")).startswith("Привет!")

    async with world.bot():  # a new Application on the same database
        assert (await reply(world, EN_USER, "/help")).startswith("Привет!")
        menu = await menu_of(world, EN_USER, "/language")
        assert (menu.text or "").startswith("🌐 Язык этого чата: русский.")
        assert "✅ Русский" in [b["text"] for b in menu.buttons]
        tg.press_button(EN_USER, menu.message_id, "lang:auto")
        await tg.wait_for(
            lambda: answered(world, "Done: I answer everyone here in their own Telegram language.")
        )
        await tg.wait_for(lambda: (menu.text or "").startswith("🌐 Language: English"))
        assert (await reply(world, EN_USER, "/help")).startswith("Hi!")
        assert (await reply(world, EN_USER, "/language klingon")).startswith(
            "Send /language en, /language ru or /language auto"
        )


async def test_in_a_group_each_member_gets_their_language_until_an_admin_picks_one(
    world: World,
) -> None:
    tg = world.tg
    tg.add_user(RU_USER, language_code="ru")
    tg.add_user(EN_USER, language_code="en")
    tg.add_chat(GROUP)
    tg.set_member_status(GROUP, EN_USER, "administrator")
    tg.set_member_status(GROUP, RU_USER, "member")
    async with world.bot():
        assert (await reply(world, GROUP, "/help", RU_USER)).startswith("Привет!")
        assert (await reply(world, GROUP, "/help", EN_USER)).startswith("Hi!")
        assert await reply(world, GROUP, "/language en", RU_USER) == (
            "Язык этой группы могут менять только её администраторы."
        )
        assert await reply(world, GROUP, "/language ru", EN_USER) == (
            "Готово: в этом чате я говорю по-русски."
        )
        assert (await reply(world, GROUP, "/help", EN_USER)).startswith("Привет!")
        assert (await reply(world, GROUP, "/cancel", EN_USER)).startswith("У вас нет")


async def test_a_job_keeps_its_language_across_a_restart(world: World) -> None:
    tg, arta = world.tg, world.arta
    tg.add_user(RU_USER, language_code="ru")
    arta.queue_polls = 10**6
    async with world.bot():
        command = tg.send_text(RU_USER, "/imagine лиса через перезапуск")
        status = await world.status_of(RU_USER, command)
        await tg.wait_for(lambda: arta.job_list)
    assert (status.text or "").startswith("⏸ Бот перезапускается")
    arta.queue_polls = 0
    async with world.bot():
        await world.photos_for(RU_USER, command, 1)
        await tg.wait_for(lambda: status.deleted)
    english = ("sent to", "waiting in line", "drawing with", "starting", "restarted")
    assert not [t for t in texts_of(status) if any(word in t for word in english)]


async def test_users_without_a_telegram_language_get_default_language(world: World) -> None:
    tg = world.tg
    tg.add_user(EN_USER, language_code=None)
    async with world.bot(default_language="ru"):
        assert (await reply(world, EN_USER, "/help")).startswith("Привет!")
    async with world.bot():
        assert (await reply(world, EN_USER, "/help")).startswith("Hi!")


async def test_a_fallback_and_providers_are_explained_in_russian(world: World) -> None:
    tg, prodia = world.tg, world.prodia
    tg.add_user(RU_USER, language_code="ru")
    prodia.hold = asyncio.Event()  # the fallback waits until the status has said why
    async with world.bot(
        fallback_image_models="auto", arta_api_url="http://127.0.0.1:9", admin_user_ids=str(RU_USER)
    ):
        command = tg.send_text(RU_USER, "/imagine лиса --n 2")
        status = await world.status_of(RU_USER, command)
        await tg.wait_for(
            lambda: (status.text or "").startswith(
                "↪️ ARTA: сейчас недоступен; вместо этого рисует "
                "prodia/absolutereality_v181 (1 изображение вместо 2)."
            )
        )
        prodia.hold.set()
        await world.photos_for(RU_USER, command, 1)
        listing = await reply(world, RU_USER, "/providers")
        assert listing.startswith("Провайдеры (✅ работает · ⚠️ сбоит · ❌ не работает)")
        assert "последняя ошибка: ARTA: сейчас недоступен" in listing
        assert "100% из 1 последней задачи" in listing


async def test_ask_hints_and_refusals_in_russian(world: World) -> None:
    tg, vision = world.tg, world.dynaspark
    tg.add_user(RU_USER, language_code="ru")
    vision.answer = "Красный квадрат."
    async with world.bot():
        command = tg.send_photo(RU_USER, png_bytes(1), caption="/ask")
        status = await world.status_of(RU_USER, command)
        await world.reply_to(RU_USER, command, lambda m: m.text == "Красный квадрат.")
        assert texts_of(status)[0] == "🔎 Смотрю на фото…"
        assert vision.submissions[0].user_input == "Опиши это изображение."
        assert (await reply(world, RU_USER, "/ask")).startswith("Задайте вопрос:")
        assert (await reply(world, RU_USER, "привет")).startswith("Отправьте /imagine <описание>")
        assert (await reply(world, RU_USER, "/draw")).startswith("Я не знаю такой команды.")
    async with world.bot(allowed_user_ids=str(EN_USER)):
        assert await reply(world, RU_USER, "/imagine лиса") == (
            "Извините, это закрытый бот. Попросите его владельца открыть вам доступ."
        )
