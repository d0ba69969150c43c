"""The Bot API emulator, driven by python-telegram-bot's own ``telegram.Bot``."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
import telegram
from aiohttp import web
from PIL import Image
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    MessageEntity,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from tests.fakes.server import FakeServer
from tests.fakes.telegram import BotApiEmulator, command_entities, parse_html

# PTB itself warns when it builds RetryAfter (retry_after becoming a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

USER = 42  # a private chat: the chat id is the user's id
GROUP = -1001234567890  # a supergroup


def image(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


class FakeClock:
    """Stands in for time.monotonic so flood tests move time without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ImageHost(FakeServer):
    """Serves fixed bodies at /{name}, like an upstream's image URLs."""

    def __init__(self) -> None:
        self.bodies: dict[str, tuple[bytes, str]] = {}
        super().__init__()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/{name}", self._serve)]

    async def _serve(self, request: web.Request) -> web.Response:
        body = self.bodies.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body[0], content_type=body[1])


@pytest.fixture
async def tg() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        emulator.add_chat(USER)
        emulator.add_chat(GROUP)
        yield emulator


@pytest.fixture
async def bot(tg: BotApiEmulator) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        tg.token, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot"
    ) as client:
        yield client


@pytest.fixture
async def host() -> AsyncIterator[ImageHost]:
    async with ImageHost() as server:
        yield server  # type: ignore[misc]


# -- the bot and its token -------------------------------------------------------------------


async def test_get_me_and_token(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert (me.username, me.is_bot, me.can_join_groups) == ("ImagineTestBot", True, True)
    assert me.id == tg.bot_id and tg.bot_username == "ImagineTestBot"
    assert tg.token.startswith(f"{tg.bot_id}:TEST-")
    assert not re.fullmatch(r"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}", tg.token)


async def test_wrong_token_and_unknown_method_answer_like_telegram(tg: BotApiEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.url}/bot1:wrong/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{tg.url}/bot{tg.token}/sendTelepathy") as response:
            assert (response.status, (await response.json())["description"]) == (404, "Not Found")
    wrong = telegram.Bot("1:wrong", base_url=tg.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    await wrong.shutdown()
    assert tg.unauthorized_requests == 2
    assert tg.calls() == [tg.calls("sendTelepathy")[0]]  # refused tokens are not calls


async def test_json_bodies_are_accepted(tg: BotApiEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        payload = {"chat_id": USER, "text": "hi", "reply_markup": {"inline_keyboard": []}}
        async with http.post(f"{tg.url}/bot{tg.token}/sendMessage", json=payload) as response:
            body = await response.json()
    assert body["ok"] and body["result"]["text"] == "hi"
    assert body["result"]["from"]["username"] == "ImagineTestBot"
    assert tg.calls("sendMessage")[0].params["chat_id"] == USER


# -- text messages, edits, deletes -----------------------------------------------------------


async def test_send_edit_and_identical_edit(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    sent = await bot.send_message(USER, "Working…", reply_markup=keyboard("cancel"))
    assert sent.chat.type == "private" and sent.from_user.id == tg.bot_id

    edited = await bot.edit_message_text(
        "Done", USER, sent.message_id, reply_markup=keyboard("cancel")
    )
    assert isinstance(edited, telegram.Message) and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Done", USER, sent.message_id, reply_markup=keyboard("cancel"))
    # Without reply_markup an edit removes the keyboard: that is a modification.
    await bot.edit_message_text("Done", USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(USER, sent.message_id)

    [message] = tg.bot_messages(USER)
    assert (message.text, message.reply_markup, message.edits) == ("Done", None, 2)
    assert [v.text for v in message.history] == ["Working…", "Done", "Done"]
    assert message.history[0].reply_markup == keyboard("cancel").to_dict()
    assert message["text"] == "Done"  # dict-style access works too


async def test_next_message_ids_grow_per_chat(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    first = await bot.send_message(USER, "one")
    user_message = tg.send_text(USER, "two")
    third = await bot.send_message(USER, "three")
    in_group = await bot.send_message(GROUP, "elsewhere")
    assert (first.message_id, user_message["message_id"], third.message_id) == (1, 2, 3)
    assert in_group.message_id == 1 and in_group.chat.type == "supergroup"


async def test_messages_the_user_deleted_cannot_be_edited(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    sent = await bot.send_message(USER, "status")
    tg.user_deletes(USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("progress", USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    [message] = tg.bot_messages(USER)
    assert (message.deleted, message.deleted_by) == (True, "user")
    assert tg.bot_messages(USER, include_deleted=False) == []


async def test_delete_by_the_bot(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    sent = await bot.send_message(USER, "status")
    assert await bot.delete_message(USER, sent.message_id) is True
    assert tg.bot_messages(USER)[0].deleted_by == "bot"
    user_message = tg.send_text(GROUP, "hello")
    with pytest.raises(BadRequest, match=r"can't be deleted"):
        await bot.delete_message(GROUP, user_message["message_id"])
    tg.set_member_status(GROUP, tg.bot_id, "administrator")
    assert await bot.delete_message(GROUP, user_message["message_id"])


async def test_text_limits(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    await bot.send_message(USER, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "  \n ")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(USER, image(), caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "who?")


async def test_message_drafts_in_private_chats(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    assert await bot.send_message_draft(USER, 7, "A fox")
    assert await bot.send_message_draft(USER, 7, "A fox is", entities=[MessageEntity("bold", 2, 3)])
    assert await bot.send_message_draft(USER, 8)  # no text: the "Thinking…" placeholder
    await bot.send_message_draft(USER, 9, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)TEXTDRAFT_PEER_INVALID"):
        await bot.send_message_draft(GROUP, 7, "A fox")
    with pytest.raises(BadRequest, match=r"(?i)RANDOM_ID_INVALID"):
        await bot.send_message_draft(USER, 0, "A fox")
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.send_message_draft(USER, 9, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)can.t parse entities"):
        await bot.send_message_draft(USER, 9, "<b>open", parse_mode="HTML")
    tg.user_blocks_bot(USER)
    with pytest.raises(Forbidden):
        await bot.send_message_draft(USER, 9, "hello?")
    assert [(d.draft_id, d.text) for d in tg.drafts_in(USER)] == [
        (7, "A fox"),
        (7, "A fox is"),
        (8, ""),
        (9, "x" * 4096),
    ]
    assert tg.drafts_in(USER, 7)[1].entities == ({"type": "bold", "offset": 2, "length": 3},)
    assert tg.bot_messages(USER) == []  # a draft is no message


async def test_replies(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    asked = tg.send_text(USER, "/imagine a cat")
    reply = await bot.send_message(USER, "on it", reply_to_message_id=asked["message_id"])
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "/imagine a cat"
    assert tg.bot_messages(USER)[0].reply_to == asked["message_id"]
    tg.user_deletes(USER, asked["message_id"])
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(
            USER, "late", reply_parameters=telegram.ReplyParameters(asked["message_id"])
        )
    await bot.send_message(
        USER,
        "late but fine",
        reply_parameters=telegram.ReplyParameters(
            asked["message_id"], allow_sending_without_reply=True
        ),
    )


async def test_formatting_is_parsed_into_entities(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    bold = MessageEntity("bold", 2, 4)
    sent = await bot.send_message(
        USER, "  Done in 1.5 s", entities=[bold, MessageEntity("code", 9, 99)]
    )
    assert sent.text == "Done in 1.5 s"  # trimmed: the entities move and are clipped with it
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 4), ("code", 7, 6)]
    # What the bot's describe answer sends: escaped text and the prompt in <code>.
    html = await bot.send_message(USER, "It&#x27;s &lt;this&gt;:\n\n<code>a &amp; b</code>", "HTML")
    assert html.text == "It's <this>:\n\na & b"
    assert [(e.type, e.offset, e.length) for e in html.entities] == [("code", 14, 5)]
    with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
        await bot.send_message(USER, "1 < 2", parse_mode="HTML")
    # Not emulated: refused loudly rather than passed through.
    for mode in ("MarkdownV2", "Markdown"):
        with pytest.raises(BadRequest, match=rf"(?i)can't parse entities: parse_mode {mode} is"):
            await bot.send_message(USER, "*Done*", parse_mode=mode)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: .*no attributes"):
        await bot.send_message(USER, '<code class="language-py">x</code>', parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"^Unsupported parse_mode$"):
        await bot.send_message(USER, "x", parse_mode="RTF")
    assert len(tg.bot_messages(USER)) == 2


def test_html_parser() -> None:
    text, entities = parse_html("<b>b <i>i</i></b> <pre>x</pre> 🏟 <u>🏟</u>")
    assert text == "b i x 🏟 🏟"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "pre", "offset": 4, "length": 1},
        {"type": "underline", "offset": 9, "length": 2},  # UTF-16 offsets, like Telegram's
    ]
    assert parse_html("&lt;&amp;&gt;&quot;&#33;&#x27;&unknown;")[0] == "<&>\"!'&unknown;"
    for source, error in [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<i>a</em>", 'Unmatched end tag at byte offset 4, expected "</i>", found "</em>"'),
        ("a </b>", "Unexpected end tag at byte offset 2"),
        ("<foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ('🏟 <code class="x">', 'the emulator supports no attributes (tag "code" at byte offset 5)'),
    ]:
        with pytest.raises(Exception, match=re.escape(error)):
            parse_html(source)


# -- keyboards and callback queries ----------------------------------------------------------


async def test_callback_data_longer_than_64_bytes_is_refused(bot: telegram.Bot) -> None:
    await bot.send_message(USER, "ok", reply_markup=keyboard("x" * 64))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "too long", reply_markup=keyboard("я" * 33))


async def test_button_press_and_answer(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    sent = await bot.send_message(USER, "pick", reply_markup=keyboard("model:flux", "model:sd"))
    query_id = tg.press_button(USER, sent.message_id, "model:sd")
    [update] = await bot.get_updates()
    assert update.callback_query is not None
    assert (update.callback_query.id, update.callback_query.data) == (query_id, "model:sd")
    assert update.callback_query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, text="Model set", show_alert=True)
    [answer] = tg.callback_answers
    assert (answer.text, answer.show_alert, answer.data) == ("Model set", True, "model:sd")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(ValueError, match=r"no button"):
        tg.press_button(USER, sent.message_id, "model:unknown")


# -- photos, documents, albums, files --------------------------------------------------------


async def test_send_photo_upload(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    data = image(1000, 700)
    sent = await bot.send_photo(
        USER, data, caption="cat", caption_entities=[MessageEntity("bold", 0, 3)]
    )
    largest = sent.photo[-1]
    assert (largest.width, largest.height, largest.file_size) == (1000, 700, len(data))
    assert [p.width for p in sent.photo] == [90, 320, 800, 1000]
    assert sent.caption == "cat" and sent.caption_entities[0].type == "bold"
    [message] = tg.bot_messages(USER)
    assert message.photo == data and message.kind == "photo"
    assert tg.calls("sendPhoto")[0].files["photo"].data == data
    again = await bot.send_photo(GROUP, largest.file_id)  # by file_id: reused, no upload
    assert again.photo[-1].file_id == largest.file_id
    assert tg.bot_messages(GROUP)[0].photo == data


async def test_photo_validation(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, b"not an image at all")
    with pytest.raises(BadRequest, match=r"(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(USER, image(2100, 100))  # ratio over 20
    buffer = io.BytesIO()
    Image.new("1", (9000, 1100)).save(buffer, "PNG")  # width + height over 10000
    with pytest.raises(BadRequest, match=r"(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(USER, buffer.getvalue())
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(USER, "AgACAgIAAxkBAAIunknown")


async def test_send_photo_by_url(tg: BotApiEmulator, bot: telegram.Bot, host: ImageHost) -> None:
    data = image(300, 200)
    host.bodies["cat.png"] = (data, "image/png")
    host.bodies["page.html"] = (b"<html></html>", "text/html")
    sent = await bot.send_photo(USER, f"{host.url}/cat.png")
    assert sent.photo[-1].width == 300
    assert tg.bot_messages(USER)[0].photo == data
    assert len(host.seen("/cat.png")) == 1  # the emulator fetched it, like Telegram's servers
    for url in (f"{host.url}/missing.png", "https://images.example.com/cat.png"):
        with pytest.raises(BadRequest, match=r"(?i)failed to get HTTP URL content"):
            await bot.send_photo(USER, url)
    with pytest.raises(BadRequest, match=r"(?i)wrong type of the web page content"):
        await bot.send_photo(USER, f"{host.url}/page.html")
    host.bodies["big.png"] = (data + b"\0" * (5 * 1024 * 1024), "image/png")
    with pytest.raises(BadRequest, match=r"(?i)failed to get HTTP URL content"):
        await bot.send_photo(USER, f"{host.url}/big.png")


async def test_media_group_of_uploads(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    images = [image(64 + i, 64, (i * 50, 100, 100)) for i in range(4)]
    media = [InputMediaPhoto(d, caption=f"#{i}") for i, d in enumerate(images)]
    sent = await bot.send_media_group(USER, media)
    assert len(sent) == 4
    assert len({m.media_group_id for m in sent}) == 1 and sent[0].media_group_id
    stored = tg.bot_messages(USER)
    assert [m.photo for m in stored] == images
    assert [m.caption for m in stored] == ["#0", "#1", "#2", "#3"]


async def test_media_group_rules(tg: BotApiEmulator, bot: telegram.Bot, host: ImageHost) -> None:
    host.bodies["ok.png"] = (image(), "image/png")
    with pytest.raises(BadRequest, match=r"(?i)too many messages to send as an album"):
        await bot.send_media_group(USER, [InputMediaPhoto(image())] * 11)
    with pytest.raises(BadRequest, match=r"(?i)document can't be mixed"):
        await bot.send_media_group(
            USER, [InputMediaPhoto(image()), InputMediaDocument(b"%PDF", filename="a.pdf")]
        )
    album_error = r'(?i)failed to send message #2 with the error message "Failed to get HTTP URL'
    with pytest.raises(BadRequest, match=album_error):
        await bot.send_media_group(
            USER, [InputMediaPhoto(f"{host.url}/ok.png"), InputMediaPhoto(f"{host.url}/gone.png")]
        )
    assert tg.bot_messages(USER) == []  # a refused album sends nothing
    [single] = await bot.send_media_group(USER, [InputMediaPhoto(f"{host.url}/ok.png")])
    assert single.media_group_id is None  # one item is an ordinary message, as on Telegram


async def test_documents(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    sent = await bot.send_document(USER, b"%PDF-1.4 hello", filename="report.pdf")
    assert sent.document.file_name == "report.pdf"
    assert sent.document.mime_type == "application/pdf"
    file = await bot.get_file(sent.document.file_id)
    assert await file.download_as_bytearray() == bytearray(b"%PDF-1.4 hello")
    assert tg.bot_messages(USER)[0].document == b"%PDF-1.4 hello"


async def test_get_file_and_download_of_a_user_photo(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    data = image(1280, 960)
    tg.send_photo(USER, data, caption="/ask what is this?")
    [update] = await bot.get_updates()
    message = update.message
    assert message is not None and message.caption == "/ask what is this?"
    assert message.caption_entities[0].type == "bot_command"
    assert message.caption_entities[0].length == 4
    for size in message.photo:  # every size is downloadable
        buffer = io.BytesIO()
        await (await bot.get_file(size.file_id)).download_to_memory(buffer)
        assert Image.open(buffer).size == (size.width, size.height)
    buffer = io.BytesIO()
    await (await message.photo[-1].get_file()).download_to_memory(buffer)
    assert buffer.getvalue() == data
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_file_route_needs_the_token_and_a_known_path(tg: BotApiEmulator) -> None:
    file_id = tg.send_photo(USER, image())["photo"][-1]["file_id"]
    path = tg.files[file_id].file_path
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{tg.url}/file/bot{tg.token}/{path}") as response:
            assert response.status == 200 and await response.read() == tg.file_bytes(file_id)
        async with http.get(f"{tg.url}/file/bot{tg.token}/photos/nothing.jpg") as response:
            assert response.status == 404
        async with http.get(f"{tg.url}/file/bot1:wrong/{path}") as response:
            assert response.status == 401


# -- updates ---------------------------------------------------------------------------------


async def test_get_updates_long_polls_and_offset_confirms(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    assert await bot.get_updates(timeout=0) == ()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    call = await tg.wait_for_call(
        "getUpdates", lambda c: c.params.get("timeout") == "30", finished=False
    )
    assert call.status == 0  # still waiting: nothing to deliver yet
    sent = tg.send_text(USER, "/imagine a lighthouse")
    [update] = await poll
    assert update.message is not None and update.message.message_id == sent["message_id"]
    assert update.message.text == "/imagine a lighthouse"
    assert update.message.entities[0].type == "bot_command"
    # Not confirmed: a restarted bot gets it again.
    [again] = await bot.get_updates(timeout=0)
    assert again.update_id == update.update_id
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert tg.pending_updates == []


async def test_a_second_bot_instance_ends_the_first_poll_with_409(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_for_call("getUpdates", finished=False)
    async with tg.make_bot() as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"terminated by other getUpdates request"):
        await first


async def test_stop_ends_waiting_long_polls() -> None:
    emulator = BotApiEmulator()
    await emulator.start()
    async with emulator.make_bot() as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await emulator.wait_for_call("getUpdates", finished=False)
        await emulator.stop()
        assert await poll == ()


async def test_group_commands_carry_the_bot_username(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    sent = tg.send_text(GROUP, "/imagine@ImagineTestBot a cat", user_id=7)
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 23}]
    assert sent["chat"]["type"] == "supergroup" and sent["from"]["id"] == 7
    [update] = await bot.get_updates()
    assert update.message.parse_entities() == {
        update.message.entities[0]: "/imagine@ImagineTestBot"
    }
    assert command_entities("see /help, /x@OtherBot") == [
        {"type": "bot_command", "offset": 4, "length": 5},
        {"type": "bot_command", "offset": 11, "length": 11},
    ]
    with pytest.raises(ValueError, match=r"private chat"):
        tg.send_text(USER, "hi", user_id=7)


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
