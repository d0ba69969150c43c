"""The Bot API emulator, driven by python-telegram-bot's own ``telegram.Bot``: the token,
messages and edits, keyboards, photos and files, updates."""

from __future__ import annotations

import asyncio
import io
import re

import aiohttp
import pytest
import telegram
from PIL import Image
from telegram import (
    InputMediaDocument,
    InputMediaPhoto,
    MessageEntity,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken

from tests.fakes.emulator_support import (
    GROUP,
    USER,
    ImageHost,
    image,
    keyboard,
)
from tests.fakes.telegram import BotApiEmulator, command_entities, parse_html

# PTB itself warns when it builds RetryAfter (retry_after becoming a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

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
