"""A loopback emulator of Telegram's Bot API for end-to-end tests.

Point python-telegram-bot at it exactly as at a local Bot API server::

    async with BotApiEmulator() as tg:
        # the bot under test: TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_URL=tg.url
        # (methods at {tg.url}/bot{token}/{method}, files at {tg.url}/file/bot{token}/{path})
        tg.send_text(42, "/imagine a red fox")  # a user writes to the bot (an update)
        sent = await tg.wait_for(lambda: tg.bot_messages(42))
        assert sent[-1].photo is not None

What it speaks
    * Requests as python-telegram-bot 22 sends them: ``application/x-www-form-urlencoded`` or
      ``multipart/form-data`` where complex fields (``reply_markup``, ``media``, ``entities``,
      ``reply_parameters``...) are JSON strings and uploads are parts (a part named after the
      parameter, or ``attach://<part>`` inside ``media``). JSON bodies and query strings work too.
    * The real envelope: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
      "description": "...", "parameters": {"retry_after": N}}``, Telegram's own error texts
      (researched from TDLib/telegram-bot-api sources and bug reports; see the constants below).
    * Text formatting as the bot sends it: ``entities`` (checked and clipped like Telegram), and
      HTML's simple tags without attributes (the bot's describe answer: ``<code>``), parsed like
      TDLib (the same "can't parse entities" errors). MarkdownV2 and Markdown are not emulated:
      they are refused with 400 "can't parse entities". Text is trimmed, then limited.

Flood limits (off by default; ``tg.flood_limits = True``), see :class:`FloodPolicy`
    Counted calls: every send*/edit*/copy/forward call (message drafts too), counted when it
    arrives, whatever its outcome (a media group is one call). Deletes, chat actions and
    callback answers are free, unless ``tg.flood_policy = FloodPolicy(count_everything=True)``:
    then deleteMessage(s), sendChatAction and every edit* count too, in private chats as in
    groups. ``FloodPolicy(global_per_second=25)`` lowers the overall limit;
    ``FloodPolicy.strict()`` does both.
    * any chat, private or group: a token bucket of 3 with a refill of 1 per second, i.e.
      a burst of 3 then 1 a second;
    * group or supergroup (chat id < 0), besides: at most 20 in any 60 seconds (sliding window);
    * overall: at most 30 in any 1 second (sliding window).
    Past a limit the call is refused with 429 ``Too Many Requests: retry after N`` where N is the
    whole seconds until the call would have been allowed (at least 1), and nothing is consumed.
    The clock is ``tg.clock`` (``time.monotonic``); tests replace it to move time without sleeping.

Forum topics (``add_chat(..., is_forum=True)``)
    A topic's id (message_thread_id) is the id of the service message that opened it
    (``add_topic`` or createForumTopic). Messages in a topic carry ``message_thread_id`` and
    ``is_topic_message``, and, when they reply to nothing, ``reply_to_message`` is the topic's
    creation message, as Telegram sends them. A bot message goes to the topic named by
    ``message_thread_id`` (unknown: "message thread not found"), else to the topic of the
    message it replies to, else to General; so a reply whose message is gone
    (allow_sending_without_reply) lands in General unless the topic is named. Outside topics,
    a reply in a supergroup carries the root of its reply chain as message_thread_id (without
    is_topic_message), as Telegram does. ``StoredMessage.topic`` says where a message is.

Webhooks (see ``webhook``)
    Once the bot calls setWebhook, pending updates are POSTed to it as Telegram does (one per
    request, a chat's updates one at a time, at most max_connections in flight, the secret in
    ``X-Telegram-Bot-Api-Secret-Token``), and redelivered until the webhook answers 2xx: after
    an error status, a refused or broken connection, or ``webhook_timeout`` seconds without an
    answer (waits: ``webhook_retry_delay``, ``webhook_max_retry_delay``). The registered URL
    is public (https://bot.example.org/...): ``route_webhook(to="http://127.0.0.1:PORT")``
    points its host at a loopback server, keeping the path. ``webhook_deliveries`` records
    every POST; ``await webhook_idle()`` waits until every update was acknowledged.

Test-side API (all synchronous unless marked async)
    setup:     ``add_chat``, ``add_user``, ``add_topic``, ``set_member_status``,
               ``user_blocks_bot`` (both tell the bot by a my_chat_member update),
               ``fail_next``, ``slow_next``, ``hold``/``release``/``held``, ``flood_limits``,
               ``flood_policy``, ``clock``, ``migrate_group``, ``inline_mode``,
               ``inline_feedback``, ``route_webhook``, ``webhook_timeout``,
               ``webhook_retry_delay``, ``webhook_max_retry_delay``
    injection: ``send_text``, ``send_photo``, ``send_document`` (``thread_id=`` for a topic),
               ``press_button``, ``user_deletes``, ``send_inline_query``,
               ``choose_inline_result``, ``press_inline_button``
    observing: ``bot_messages``, ``messages`` (``topic=`` filters), ``message``, ``topics``,
               ``calls``, ``callback_answers``, ``drafts``, ``drafts_in``, ``commands``,
               ``my_commands``, ``files``,
               ``file_bytes``, ``chat_actions`` (and ``chat_action_topics``),
               ``pending_updates``, ``too_many_requests_sent``, ``inline_answers``,
               ``inline_answer``, ``inline_message``, ``webhook_url``,
               ``webhook_deliveries``, ``webhook_attempts``, ``webhook_in_flight``,
               ``webhook_last_error``
    waiting:   async ``wait_for``, ``wait_for_call``, ``wait_for_bot_message``,
               ``webhook_idle``
    payments:  ``checkout_timeout``, async ``pay``, ``redeliver_payment``, ``invoices``,
               ``payment``, ``payments``, ``checkout_answers``, ``refunds``

Payments in Telegram Stars (see ``payments``)
    ``sendInvoice`` in XTR is checked like Telegram and stored as an ``invoice`` message
    (``tg.invoices(chat_id)`` adds the payload); ``await tg.pay(invoice)`` plays the user:
    a ``pre_checkout_query`` the bot must answer within ``checkout_timeout``, then, if it said
    ok, the ``successful_payment`` message and the charge id. ``refundStarPayment`` refunds a
    charge once.

Inline mode (``tg.inline_mode = True``, as /setinline in @BotFather)
    ``send_inline_query`` makes an ``inline_query`` update; ``answerInlineQuery`` is checked
    (at most 50 results, ids of 1-64 bytes and unique, an article needs a title and a message
    text, only inline keyboards, the ``button``) and recorded in ``inline_answers``.
    ``choose_inline_result`` puts the chosen article in a chat as the user's message ``via_bot``;
    it gets an ``inline_message_id`` only when the result has a keyboard (Telegram's rule) and,
    with ``tg.inline_feedback = True`` (/setinlinefeedback), a ``chosen_inline_result`` update.
    Edits by ``inline_message_id`` answer True instead of a Message, and ``editMessageMedia``
    refuses an upload there, as Telegram does (a file_id or URL is needed).

Modules
    ``server`` is the emulator (routes, dispatch, observing, waiting), joined from the method
    groups ``profile`` (getMe, commands), ``updates`` (users' actions, getUpdates, callback
    answers), ``webhook`` (setWebhook, pushing updates to the webhook), ``messages``
    (send/edit/delete), ``files`` (uploads, URLs, getFile, downloads), ``chats`` (chats,
    members, topics), ``inline`` (inline mode), ``payments`` (Telegram Stars) and ``faults``
    (injected failures, holds, the flood check), on ``core`` (state and shared helpers).
    Beside them: ``limits`` (flood control), ``records`` (what tests read), ``params``
    (request decoding), ``formatting`` (text, entities, HTML, keyboards), ``errors``
    (Telegram's limits and texts).
"""

from tests.fakes.telegram.errors import ApiError
from tests.fakes.telegram.formatting import (
    command_entities,
    format_text,
    parse_html,
    utf16_len,
    validate_reply_markup,
)
from tests.fakes.telegram.limits import FloodControl, FloodPolicy
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import (
    ANYWHERE,
    Anywhere,
    Call,
    CallbackAnswer,
    CheckoutAnswer,
    Draft,
    InlineAnswer,
    SentInvoice,
    StarPayment,
    StarRefund,
    StoredFile,
    StoredMessage,
    UploadedFile,
    Version,
    WebhookDelivery,
)
from tests.fakes.telegram.server import BotApiEmulator

__all__ = [
    "ANYWHERE",
    "Anywhere",
    "ApiError",
    "BotApiEmulator",
    "Call",
    "CallbackAnswer",
    "CheckoutAnswer",
    "Draft",
    "FloodControl",
    "FloodPolicy",
    "InlineAnswer",
    "Params",
    "SentInvoice",
    "StarPayment",
    "StarRefund",
    "StoredFile",
    "StoredMessage",
    "UploadedFile",
    "Version",
    "WebhookDelivery",
    "command_entities",
    "format_text",
    "parse_html",
    "utf16_len",
    "validate_reply_markup",
]
