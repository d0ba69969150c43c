"""The Bot API emulator, driven by python-telegram-bot's own ``telegram.Bot``: forum topics,
membership, faults and flood limits, commands and chats, waiting, a whole Application."""

from __future__ import annotations

import asyncio

import pytest
import telegram
from telegram import (
    InputMediaPhoto,
)
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from tests.fakes.emulator_support import (
    GROUP,
    USER,
    FakeClock,
    image,
    keyboard,
)
from tests.fakes.telegram import BotApiEmulator, FloodPolicy

# PTB itself warns when it builds RetryAfter (retry_after becoming a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

# -- forum topics ----------------------------------------------------------------------------

FORUM = -1009876543210


@pytest.fixture
def forum(tg: BotApiEmulator) -> int:
    """A forum supergroup with one topic, "Drawings"; returns the topic's thread id."""
    tg.add_chat(FORUM, is_forum=True)
    return tg.add_topic(FORUM, "Drawings", user_id=7)


async def test_a_users_topic_message_arrives_as_telegram_sends_it(
    tg: BotApiEmulator, bot: telegram.Bot, forum: int
) -> None:
    tg.send_text(FORUM, "/imagine@ImagineTestBot a cat", user_id=7, thread_id=forum)
    tg.send_text(FORUM, "hello, General", user_id=7)
    opened, command, general = [u.message for u in await bot.get_updates()]
    assert opened.forum_topic_created is not None and opened.forum_topic_created.name == "Drawings"
    assert (opened.message_id, opened.message_thread_id, opened.is_topic_message) == (
        forum,
        forum,
        True,
    )
    assert opened.chat.is_forum and tg.topics(FORUM) == {forum: "Drawings"}
    assert (command.message_thread_id, command.is_topic_message) == (forum, True)
    assert command.reply_to_message.message_id == forum  # the topic's creation, as on Telegram
    assert general.message_thread_id is None and not general.is_topic_message
    assert tg.message(FORUM, command.message_id).topic == forum
    with pytest.raises(ValueError, match=r"no topic 999"):
        tg.send_text(FORUM, "lost", thread_id=999)


async def test_bot_messages_go_to_the_named_topic_or_follow_their_reply(
    tg: BotApiEmulator, bot: telegram.Bot, forum: int
) -> None:
    command = tg.send_text(FORUM, "/imagine a cat", thread_id=forum)
    named = await bot.send_message(FORUM, "named", message_thread_id=forum)
    assert (named.message_thread_id, named.is_topic_message) == (forum, True)
    replying = await bot.send_message(
        FORUM, "replying", reply_parameters=telegram.ReplyParameters(command["message_id"])
    )
    assert replying.message_thread_id == forum  # a reply follows its message into the topic
    general = await bot.send_message(FORUM, "general")
    assert general.message_thread_id is None
    photo = await bot.send_photo(FORUM, image(), message_thread_id=forum)
    document = await bot.send_document(
        FORUM, b"%PDF-1.4", filename="a.pdf", message_thread_id=forum
    )
    album = await bot.send_media_group(
        FORUM,
        [InputMediaPhoto(image()), InputMediaPhoto(image(color=(0, 0, 255)))],
        message_thread_id=forum,
    )
    assert {m.message_thread_id for m in (photo, document, *album)} == {forum}
    in_topic = [m.message_id for m in tg.bot_messages(FORUM, topic=forum)]
    expected = [named, replying, photo, document, *album]
    assert in_topic == [m.message_id for m in expected]
    assert [m.text for m in tg.bot_messages(FORUM, topic=None)] == ["general"]


async def test_a_reply_to_a_deleted_message_lands_in_general_unless_the_topic_is_named(
    tg: BotApiEmulator, bot: telegram.Bot, forum: int
) -> None:
    command = tg.send_text(FORUM, "/imagine a cat", thread_id=forum)
    tg.user_deletes(FORUM, command["message_id"])
    reply = telegram.ReplyParameters(command["message_id"], allow_sending_without_reply=True)
    lost = await bot.send_message(FORUM, "lost", reply_parameters=reply)
    kept = await bot.send_message(FORUM, "kept", reply_parameters=reply, message_thread_id=forum)
    assert tg.message(FORUM, lost.message_id).topic is None
    assert tg.message(FORUM, kept.message_id).topic == forum
    assert kept.reply_to_message is not None and kept.reply_to_message.message_id == forum


async def test_an_unknown_topic_is_refused_like_telegram(
    tg: BotApiEmulator, bot: telegram.Bot, forum: int
) -> None:
    for send in (
        bot.send_message(FORUM, "x", message_thread_id=forum + 100),
        bot.send_photo(FORUM, image(), message_thread_id=forum + 100),
        bot.send_chat_action(FORUM, "typing", message_thread_id=forum + 100),
        bot.send_message(GROUP, "not a forum", message_thread_id=forum),
    ):
        with pytest.raises(BadRequest, match=r"^Message thread not found$"):
            await send
    assert tg.bot_messages(FORUM) == [] and tg.chat_actions == []
    await bot.send_chat_action(FORUM, "upload_photo", message_thread_id=forum)
    await bot.send_chat_action(FORUM, "typing")
    assert tg.chat_action_topics == [forum, None]


async def test_create_forum_topic(tg: BotApiEmulator, bot: telegram.Bot, forum: int) -> None:
    with pytest.raises(BadRequest, match=r"(?i)the chat is not a forum"):
        await bot.create_forum_topic(GROUP, "Nope")
    with pytest.raises(BadRequest, match=r"(?i)not enough rights to create a topic"):
        await bot.create_forum_topic(FORUM, "Mine")
    tg.set_member_status(FORUM, tg.bot_id, "administrator")
    topic = await bot.create_forum_topic(FORUM, "Mine")
    assert topic.name == "Mine" and topic.message_thread_id not in (None, forum)
    opened = tg.message(FORUM, topic.message_thread_id)
    assert opened.kind == "service" and opened.from_bot
    sent = await bot.send_message(FORUM, "hi", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id
    assert tg.topics(FORUM) == {forum: "Drawings", topic.message_thread_id: "Mine"}


async def test_buttons_pressed_in_a_topic_bring_the_topic_along(
    tg: BotApiEmulator, bot: telegram.Bot, forum: int
) -> None:
    sent = await bot.send_message(
        FORUM, "pick", reply_markup=keyboard("a"), message_thread_id=forum
    )
    tg.press_button(FORUM, sent.message_id, "a")
    *_, update = await bot.get_updates()
    message = update.callback_query.message
    assert (message.message_thread_id, message.is_topic_message) == (forum, True)


async def test_replies_outside_topics_carry_their_reply_chain(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    first = await bot.send_message(GROUP, "root")
    answer = tg.send_text(GROUP, "a reply", reply_to=first.message_id)
    again = tg.send_text(GROUP, "and another", reply_to=answer["message_id"])
    assert answer["message_thread_id"] == again["message_thread_id"] == first.message_id
    assert "is_topic_message" not in again
    assert tg.message(GROUP, again["message_id"]).topic is None


# -- the bot's own membership ----------------------------------------------------------------


async def test_the_bot_is_told_when_it_is_removed_or_blocked(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    tg.set_member_status(GROUP, tg.bot_id, "kicked", by=7)
    tg.user_blocks_bot(USER)
    tg.user_blocks_bot(USER)  # no change, no update
    tg.set_member_status(GROUP, 3, "left")  # someone else: the bot is not told
    kicked, blocked = await bot.get_updates()
    assert kicked.my_chat_member is not None and blocked.my_chat_member is not None
    assert (kicked.my_chat_member.chat.id, kicked.my_chat_member.from_user.id) == (GROUP, 7)
    assert kicked.my_chat_member.old_chat_member.status == "member"
    assert kicked.my_chat_member.new_chat_member.status == "kicked"
    assert blocked.my_chat_member.chat.id == USER
    assert blocked.my_chat_member.new_chat_member.user.id == tg.bot_id
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    tg.user_blocks_bot(USER, False, tell_bot=False)
    tg.user_blocks_bot(USER, tell_bot=False)
    assert len(tg.pending_updates) == 2
    with pytest.raises(Forbidden, match=r"blocked by the user"):
        await bot.send_message(USER, "hello?")


# -- faults and flood control ----------------------------------------------------------------


async def test_fail_next(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    tg.fail_next("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter, match=r"Retry in (7 seconds|0:00:07)"):
        await bot.send_message(USER, "one")
    await bot.send_message(USER, "two")  # then it works
    assert tg.too_many_requests_sent == 1
    failed = tg.calls("sendMessage")[0]
    assert (failed.status, failed.retry_after, failed.error) == (
        429,
        7,
        "Too Many Requests: retry after 7",
    )
    tg.fail_next("sendPhoto", error_code=403, times=2)
    for _ in range(2):
        with pytest.raises(Forbidden, match=r"blocked by the user"):
            await bot.send_photo(USER, image())
    tg.fail_next("editMessageText", error_code=400, description="Bad Request: custom")
    with pytest.raises(BadRequest, match=r"Custom"):
        await bot.edit_message_text("x", USER, 1)


async def test_flood_limits_private_chat(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    clock = FakeClock()
    tg.clock, tg.flood_limits = clock, True
    for i in range(3):  # a burst of three
        await bot.send_message(USER, f"burst {i}")
    with pytest.raises(RetryAfter, match=r"Retry in (1 seconds|0:00:01)"):
        await bot.edit_message_text("edits count too", USER, 1)
    assert tg.too_many_requests_sent == 1
    await bot.send_chat_action(USER, "typing")  # not counted
    clock.now += 1.0
    await bot.send_message(USER, "one a second")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "too soon")
    assert tg.too_many_requests_sent == 2


async def test_flood_limits_group_and_overall(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    clock = FakeClock()
    tg.clock, tg.flood_limits = clock, True
    for i in range(3):  # about one a second holds in groups too, after a burst of three
        await bot.send_message(GROUP, f"burst {i}")
    with pytest.raises(RetryAfter, match=r"Retry in (1 seconds|0:00:01)"):
        await bot.send_message(GROUP, "a fourth at once")
    for i in range(17):
        clock.now += 1.0
        await bot.send_message(GROUP, f"{i}")
    clock.now += 1.0
    with pytest.raises(RetryAfter, match=r"Retry in (42 seconds|0:00:42)"):
        await bot.send_message(GROUP, "21st within a minute")
    clock.now += 42
    await bot.send_message(GROUP, "a minute after the first")

    clock.now += 100
    for chat_id in range(1, 31):  # 30 different private chats in the same second
        tg.add_chat(chat_id)
        await bot.send_message(chat_id, "hi")
    tg.add_chat(31)
    with pytest.raises(RetryAfter):
        await bot.send_message(31, "the 31st in one second")
    assert tg.too_many_requests_sent == 3


async def test_flood_limits_counting_everything(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    clock = FakeClock()
    tg.clock, tg.flood_limits = clock, True
    tg.flood_policy = FloodPolicy(count_everything=True)
    first = await bot.send_message(USER, "counted")
    await bot.send_chat_action(USER, "typing")  # counted too
    await bot.delete_message(USER, first.message_id)  # in a private chat too
    with pytest.raises(RetryAfter):
        await bot.delete_messages(USER, [first.message_id + 1])
    assert tg.too_many_requests_sent == 1


async def test_flood_limits_with_a_lower_overall_limit(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    clock = FakeClock()
    tg.clock, tg.flood_limits = clock, True
    tg.flood_policy = FloodPolicy(global_per_second=25)
    for chat_id in range(1, 26):
        tg.add_chat(chat_id)
        await bot.send_message(chat_id, "hi")
    tg.add_chat(26)
    with pytest.raises(RetryAfter):
        await bot.send_message(26, "the 26th in one second")
    await bot.delete_message(1, 1)  # deletions stay free by default
    assert tg.too_many_requests_sent == 1


# -- commands, chats, members ----------------------------------------------------------------


async def test_commands(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    scope = telegram.BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([("imagine", "Generate pictures")], scope=scope, language_code="ru")
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert tg.my_commands("all_private_chats", "ru") == [("imagine", "Generate pictures")]
    assert tg.my_commands() == [("start", "Start"), ("help", "Help")]
    got = await bot.get_my_commands(scope=scope, language_code="ru")
    assert [(c.command, c.description) for c in got] == [("imagine", "Generate pictures")]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Imagine!", "bad")])


async def test_chat_members_and_chats(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    tg.set_member_status(GROUP, 1, "creator")
    tg.set_member_status(GROUP, 2, "administrator")
    owner = await bot.get_chat_member(GROUP, 1)
    admin = await bot.get_chat_member(GROUP, 2)
    member = await bot.get_chat_member(GROUP, 3)
    assert isinstance(owner, telegram.ChatMemberOwner)
    assert isinstance(admin, telegram.ChatMemberAdministrator)
    assert isinstance(member, telegram.ChatMemberMember)
    assert [m.user.id for m in await bot.get_chat_administrators(GROUP)] == [1, 2]
    chat = await bot.get_chat(GROUP)
    assert (chat.type, chat.title) == ("supergroup", f"Test supergroup {GROUP}")
    tg.set_member_status(GROUP, tg.bot_id, "kicked")
    with pytest.raises(Forbidden, match=r"kicked"):
        await bot.send_message(GROUP, "hello?")
    tg.user_blocks_bot(USER)
    with pytest.raises(Forbidden, match=r"blocked by the user"):
        await bot.send_message(USER, "hello?")


# -- waiting ---------------------------------------------------------------------------------


async def test_wait_for_wakes_on_calls_and_reports_on_timeout(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    waiter = asyncio.create_task(tg.wait_for_bot_message(USER, lambda m: m.text == "second"))
    await bot.send_message(USER, "first")
    assert not waiter.done()
    await bot.send_message(USER, "second")
    assert (await waiter).message_id == 2
    with pytest.raises(AssertionError, match=r"(?s)condition not met.*sendMessage chat_id=42"):
        await tg.wait_for(lambda: False, timeout=0.05)


# -- a whole python-telegram-bot Application -------------------------------------------------


async def test_a_polling_application_end_to_end(tg: BotApiEmulator) -> None:
    """What the bot's e2e tests do: build the Application against the emulator and poll."""

    async def imagine(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        status = await update.message.reply_text("Queued…", do_quote=True)
        await status.edit_text("Done")
        await update.message.reply_photo(image(), caption=" ".join(context.args or []))

    app: Application = (  # type: ignore[type-arg]
        ApplicationBuilder()
        .token(tg.token)
        .base_url(f"{tg.url}/bot")
        .base_file_url(f"{tg.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("imagine", imagine))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        tg.send_text(GROUP, "/imagine@ImagineTestBot a cat", user_id=7)
        tg.send_text(GROUP, "/imagine@SomeOtherBot a dog", user_id=7)
        photo = await tg.wait_for_bot_message(GROUP, lambda m: m.kind == "photo")
        await tg.wait_for(lambda: not tg.pending_updates)  # confirmed by the next poll
        await app.updater.stop()
        await app.stop()
    status, delivered = tg.bot_messages(GROUP)
    assert (status.text, [v.text for v in status.history]) == ("Done", ["Queued…", "Done"])
    assert status.reply_to == 1 and photo is delivered and delivered.caption == "a cat"
    assert len(tg.bot_messages(GROUP)) == 2  # the other bot's command was ignored
    assert [c.method for c in tg.calls()][:3] == ["getMe", "deleteWebhook", "getUpdates"]
