"""Payments in Telegram Stars on the Bot API emulator, driven by python-telegram-bot's own
``telegram.Bot``: invoices, pre-checkout answers, successful payments, redelivery, refunds."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice
from telegram.error import BadRequest, RetryAfter

from tests.fakes.emulator_support import GROUP, USER, FakeClock
from tests.fakes.telegram import BotApiEmulator
from tests.fakes.telegram.errors import QUERY_INVALID

# PTB itself warns when it builds RetryAfter (retry_after becoming a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

STRANGER = 77  # another user with a private chat


async def send_pack(
    bot: telegram.Bot,
    chat_id: int = USER,
    *,
    stars: int = 50,
    payload: str = "pack:50",
    **kwargs: Any,
) -> telegram.Message:
    """An invoice for a pack of credits, as the bot's /buy sends it."""
    kwargs.setdefault("provider_token", "")
    return await bot.send_invoice(
        chat_id,
        "50 credits",
        "Credits for pictures, never expire",
        payload,
        "XTR",
        [LabeledPrice("50 credits", stars)],
        **kwargs,
    )


async def next_update(bot: telegram.Bot) -> telegram.Update:
    """The one pending update, confirmed so that the next call sees only newer ones."""
    [update] = await bot.get_updates(timeout=5)
    await bot.get_updates(offset=update.update_id + 1)
    return update


async def checkout(
    tg: BotApiEmulator,
    bot: telegram.Bot,
    invoice: telegram.Message,
    *,
    error_message: str | None = None,
    user_id: int | None = None,
) -> tuple[str, telegram.PreCheckoutQuery]:
    """The user pays; the bot answers ok (or refuses with ``error_message``). Returns what
    ``tg.pay`` returned and the query the bot got."""
    paying = asyncio.create_task(
        tg.pay(tg.message(invoice.chat_id, invoice.message_id), user_id=user_id)
    )
    query = (await next_update(bot)).pre_checkout_query
    assert query is not None
    await bot.answer_pre_checkout_query(
        query.id, ok=error_message is None, error_message=error_message
    )
    return await paying, query


async def raw_call(tg: BotApiEmulator, method: str, **fields: str) -> tuple[int, str]:
    """A call python-telegram-bot would refuse to make: (HTTP status, description)."""
    url = f"{tg.url}/bot{tg.token}/{method}"
    async with aiohttp.ClientSession() as http, http.post(url, data=fields) as response:
        body = await response.json()
        return response.status, body.get("description", "")


# -- invoices --------------------------------------------------------------------------------


async def test_a_stars_invoice_is_sent_and_stored(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    sent = await send_pack(bot)
    assert sent.invoice is not None
    assert (
        sent.invoice.title,
        sent.invoice.description,
        sent.invoice.start_parameter,
        sent.invoice.currency,
        sent.invoice.total_amount,
    ) == ("50 credits", "Credits for pictures, never expire", "", "XTR", 50)
    stored = tg.message(USER, sent.message_id)
    assert stored.kind == "invoice" and stored.from_bot
    assert stored.invoice == {
        "title": "50 credits",
        "description": "Credits for pictures, never expire",
        "start_parameter": "",
        "currency": "XTR",
        "total_amount": 50,
    }
    [invoice] = tg.invoices(USER)
    assert (invoice.message_id, invoice.payload, invoice.total_amount) == (
        sent.message_id,
        "pack:50",
        50,
    )
    assert invoice.prices == [{"label": "50 credits", "amount": 50}]


async def test_an_invoice_without_a_provider_token_takes_a_pay_button_and_a_reply(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    asked = tg.send_text(GROUP, "/buy", user_id=7)
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Pay ⭐️250", pay=True)],
            [InlineKeyboardButton("Other packs", callback_data="packs")],
        ]
    )
    sent = await send_pack(
        bot,
        GROUP,
        stars=250,
        provider_token=None,
        reply_markup=buttons,
        reply_parameters=telegram.ReplyParameters(asked["message_id"]),
        start_parameter="buy-250",
    )
    assert "provider_token" not in tg.calls("sendInvoice")[-1].params
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.message_id == asked["message_id"]
    assert sent.reply_markup == buttons
    assert sent.invoice is not None and sent.invoice.start_parameter == "buy-250"
    assert tg.invoices(GROUP)[0].total_amount == 250


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"currency": "USD"}, "Bad Request: PAYMENT_PROVIDER_INVALID"),
        ({"currency": "XTS"}, "Bad Request: PAYMENT_PROVIDER_INVALID"),
        ({"provider_token": "284685063:TEST:abc"}, "Bad Request: STARS_INVOICE_INVALID"),
        (
            {"prices": [LabeledPrice("credits", 40), LabeledPrice("bonus", 10)]},
            "Bad Request: STARS_INVOICE_INVALID",
        ),
        (
            {"max_tip_amount": 20, "suggested_tip_amounts": [5, 10]},
            "Bad Request: STARS_INVOICE_INVALID",
        ),
        ({"prices": [LabeledPrice("credits", 0)]}, "Bad Request: total price must be positive"),
        (
            {"prices": [LabeledPrice("credits", 100_001)]},
            "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID",
        ),
        ({"prices": []}, "Bad Request: there must be at least one price"),
        (
            {"prices": [LabeledPrice("", 50)]},
            "Bad Request: can't parse labeled price: LabeledPrice label must be non-empty",
        ),
        ({"payload": "p" * 129}, "Bad Request: INVOICE_PAYLOAD_INVALID"),
        ({"payload": ""}, 'Bad Request: parameter "payload" is required'),
        ({"title": ""}, 'Bad Request: parameter "title" is required'),
        ({"title": "t" * 33}, "Bad Request: invoice title must be 1-32 characters long"),
        (
            {"description": "d" * 256},
            "Bad Request: invoice description must be 1-255 characters long",
        ),
        (
            {
                "reply_markup": InlineKeyboardMarkup(
                    [[InlineKeyboardButton("?", url="https://t.me")]]
                )
            },
            "Bad Request: REPLY_MARKUP_BUY_EMPTY",
        ),
        (
            {
                "reply_markup": InlineKeyboardMarkup(
                    [
                        [InlineKeyboardButton("?", url="https://t.me")],
                        [InlineKeyboardButton("Pay", pay=True)],
                    ]
                )
            },
            "Bad Request: BUTTON_POS_INVALID",
        ),
        ({"chat_id": 999}, "Bad Request: chat not found"),
    ],
)
async def test_wrong_invoices_are_refused_with_telegrams_texts(
    tg: BotApiEmulator, bot: telegram.Bot, change: dict[str, Any], description: str
) -> None:
    fields: dict[str, Any] = {
        "chat_id": USER,
        "title": "50 credits",
        "description": "Credits for pictures",
        "payload": "pack:50",
        "currency": "XTR",
        "prices": [LabeledPrice("50 credits", 50)],
        "provider_token": "",
        **change,
    }
    with pytest.raises(BadRequest) as refused:
        await bot.send_invoice(**fields)
    assert refused.value.message.lower() == description.removeprefix("Bad Request: ").lower()
    assert tg.calls("sendInvoice")[-1].error == description
    assert tg.invoices() == [] and tg.bot_messages(USER) == []


async def test_invoices_count_against_the_flood_limits(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    tg.clock = FakeClock()
    tg.flood_limits = True
    for _ in range(3):
        await send_pack(bot)
    with pytest.raises(RetryAfter):
        await send_pack(bot)
    assert len(tg.invoices(USER)) == 3


@pytest.mark.parametrize(
    ("prices", "description"),
    [
        (
            [{"label": "credits", "amount": 1.5}],
            'Bad Request: can\'t parse labeled price: Field "amount" must be a valid Number',
        ),
        (
            [{"label": "credits"}],
            "Bad Request: can't parse labeled price: Can't find field \"amount\"",
        ),
        ({"label": "credits", "amount": 5}, "Bad Request: expected an Array of labeled prices"),
        ("[{", "Bad Request: can't parse prices JSON object"),
    ],
)
async def test_prices_are_whole_stars_in_a_json_list(
    tg: BotApiEmulator, prices: Any, description: str
) -> None:
    status, answer = await raw_call(
        tg,
        "sendInvoice",
        chat_id=str(USER),
        title="50 credits",
        description="Credits for pictures",
        payload="pack:50",
        currency="XTR",
        prices=prices if isinstance(prices, str) else json.dumps(prices),
    )
    assert (status, answer) == (400, description)


# -- paying ----------------------------------------------------------------------------------


async def test_a_payment_reaches_the_bot_as_ptb_objects(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    invoice = await send_pack(bot)
    charge_id, query = await checkout(tg, bot, invoice)
    assert query.from_user.id == USER and query.from_user.username == f"user{USER}"
    assert (query.currency, query.total_amount, query.invoice_payload) == ("XTR", 50, "pack:50")
    assert (query.shipping_option_id, query.order_info) == (None, None)
    assert charge_id.startswith("stx") and len(charge_id) > 20
    [answer] = tg.checkout_answers
    assert (answer.pre_checkout_query_id, answer.ok, answer.error_message) == (query.id, True, None)

    paid = (await next_update(bot)).message
    assert paid is not None and paid.chat.id == USER and paid.from_user is not None
    assert paid.from_user.id == USER
    payment = paid.successful_payment
    assert payment is not None
    assert (
        payment.currency,
        payment.total_amount,
        payment.invoice_payload,
        payment.telegram_payment_charge_id,
        payment.provider_payment_charge_id,
        payment.shipping_option_id,
        payment.order_info,
    ) == ("XTR", 50, "pack:50", charge_id, "", None, None)
    assert tg.message(USER, paid.message_id).kind == "successful_payment"
    [recorded] = tg.payments
    assert (recorded.user_id, recorded.invoice_message_id, recorded.refunded) == (
        USER,
        invoice.message_id,
        False,
    )
    with pytest.raises(ValueError, match="already paid"):
        await tg.pay(tg.message(USER, invoice.message_id))


async def test_a_payment_is_redelivered_as_the_same_message_in_a_new_update(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    charge_id, _ = await checkout(tg, bot, await send_pack(bot))
    first = await next_update(bot)
    tg.redeliver_payment(charge_id)
    again = await next_update(bot)
    assert again.update_id > first.update_id
    assert again.message is not None and first.message is not None
    assert again.message.message_id == first.message.message_id
    assert again.message.successful_payment == first.message.successful_payment
    assert len(tg.payments) == 1


async def test_every_payment_has_its_own_charge_id(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    first, _ = await checkout(tg, bot, await send_pack(bot))
    await next_update(bot)
    second, _ = await checkout(tg, bot, await send_pack(bot, stars=250, payload="pack:250"))
    assert first != second
    assert [p.total_amount for p in tg.payments] == [50, 250]


async def test_in_a_group_the_user_who_pays_is_the_payer(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    charge_id, query = await checkout(tg, bot, await send_pack(bot, GROUP), user_id=7)
    paid = (await next_update(bot)).message
    assert query.from_user.id == 7
    assert paid is not None and paid.from_user is not None and paid.from_user.id == 7
    assert tg.payment(charge_id).user_id == 7


async def test_a_refused_checkout_makes_no_payment(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    invoice = await send_pack(bot)
    charge_id, _ = await checkout(tg, bot, invoice, error_message="This pack is no longer sold.")
    assert charge_id == ""
    [answer] = tg.checkout_answers
    assert (answer.ok, answer.error_message) == (False, "This pack is no longer sold.")
    assert await bot.get_updates() == () and tg.payments == []
    assert tg.messages(USER)[-1].kind == "invoice"
    # The invoice stays payable.
    charge_id, _ = await checkout(tg, bot, invoice)
    assert charge_id and tg.payments[0].telegram_payment_charge_id == charge_id


async def test_a_refusal_needs_an_error_message(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    paying = asyncio.create_task(tg.pay(tg.message(USER, (await send_pack(bot)).message_id)))
    query = (await next_update(bot)).pre_checkout_query
    assert query is not None
    with pytest.raises(BadRequest, match=r'(?i)parameter "error_message" is required'):
        await bot.answer_pre_checkout_query(query.id, ok=False)
    await bot.answer_pre_checkout_query(query.id, ok=True)
    assert await paying


async def test_unknown_and_repeated_query_ids_are_refused(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    with pytest.raises(BadRequest):
        await bot.answer_pre_checkout_query("123456", ok=True)
    assert tg.calls("answerPreCheckoutQuery")[-1].error == QUERY_INVALID
    _, query = await checkout(tg, bot, await send_pack(bot))
    with pytest.raises(BadRequest):
        await bot.answer_pre_checkout_query(query.id, ok=True)
    assert tg.calls("answerPreCheckoutQuery")[-1].error == QUERY_INVALID
    assert len(tg.checkout_answers) == 1 and len(tg.payments) == 1


async def test_an_answer_after_the_checkout_timeout_is_refused_and_nothing_is_paid(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    clock = FakeClock()
    tg.clock = clock
    tg.checkout_timeout = 2.0
    invoice = await send_pack(bot)
    paying = asyncio.create_task(tg.pay(tg.message(USER, invoice.message_id)))
    query = (await next_update(bot)).pre_checkout_query
    assert query is not None
    clock.now += 2.5
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_pre_checkout_query(query.id, ok=True)
    assert await paying == ""
    assert tg.payments == [] and tg.checkout_answers == []
    assert await bot.get_updates() == ()
    # In time, the same invoice is paid.
    paying = asyncio.create_task(tg.pay(tg.message(USER, invoice.message_id)))
    query = (await next_update(bot)).pre_checkout_query
    assert query is not None
    clock.now += 1.5
    await bot.answer_pre_checkout_query(query.id, ok=True)
    assert await paying


async def test_pay_reports_a_bot_that_never_answers(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    invoice = await send_pack(bot)
    with pytest.raises(AssertionError, match=r"pre_checkout_query \d+ \('pack:50'\) not answered"):
        await tg.pay(tg.message(USER, invoice.message_id), timeout=0.05)
    assert tg.payments == []


async def test_only_invoices_the_bot_sent_can_be_paid(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    text = await bot.send_message(USER, "not an invoice")
    with pytest.raises(ValueError, match="not an invoice"):
        await tg.pay(tg.message(USER, text.message_id))
    invoice = await send_pack(bot)
    await bot.delete_message(USER, invoice.message_id)
    with pytest.raises(ValueError, match="deleted"):
        await tg.pay(tg.invoices(USER)[0])


# -- refunds ---------------------------------------------------------------------------------


async def test_a_charge_is_refunded_once(tg: BotApiEmulator, bot: telegram.Bot) -> None:
    charge_id, _ = await checkout(tg, bot, await send_pack(bot))
    assert await bot.refund_star_payment(USER, charge_id) is True
    [refund] = tg.refunds
    assert (refund.user_id, refund.telegram_payment_charge_id, refund.total_amount) == (
        USER,
        charge_id,
        50,
    )
    assert refund.invoice_payload == "pack:50" and tg.payment(charge_id).refunded
    with pytest.raises(BadRequest, match=r"(?i)charge_already_refunded"):
        await bot.refund_star_payment(USER, charge_id)
    assert tg.calls("refundStarPayment")[-1].error == "Bad Request: CHARGE_ALREADY_REFUNDED"
    assert len(tg.refunds) == 1


async def test_unknown_charges_and_other_users_charges_are_not_refunded(
    tg: BotApiEmulator, bot: telegram.Bot
) -> None:
    charge_id, _ = await checkout(tg, bot, await send_pack(bot))
    for user_id, charge in ((USER, "stxNoSuchCharge"), (STRANGER, charge_id)):
        with pytest.raises(BadRequest, match=r"(?i)charge_not_found"):
            await bot.refund_star_payment(user_id, charge)
        assert tg.calls("refundStarPayment")[-1].error == "Bad Request: CHARGE_NOT_FOUND"
    assert tg.refunds == [] and not tg.payment(charge_id).refunded
    assert await raw_call(tg, "refundStarPayment", telegram_payment_charge_id=charge_id) == (
        400,
        "Bad Request: invalid user_id specified",
    )
    assert await raw_call(tg, "refundStarPayment", user_id=str(USER)) == (
        400,
        'Bad Request: parameter "telegram_payment_charge_id" is required',
    )
