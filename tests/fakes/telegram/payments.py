"""Payments in Telegram Stars: sendInvoice in XTR, pre-checkout queries, successful payments
and refundStarPayment.

A payment (``charge_id = await tg.pay(invoice)``)
    The user presses Pay: the bot gets a ``pre_checkout_query`` (id, from, currency,
    total_amount, invoice_payload) and must answer it with answerPreCheckoutQuery within
    ``tg.checkout_timeout`` seconds of the emulator's ``clock`` (Telegram's 10). Only an ok
    answer in time makes a payment: the user's message with ``successful_payment`` (a new
    ``telegram_payment_charge_id`` like ``stx...``, provider_payment_charge_id "") reaches the
    bot, is recorded in ``tg.payments`` and its charge id is returned. A refusal (recorded in
    ``tg.checkout_answers`` with its error_message) or an answer after the timeout (refused
    with 400, like an unknown or repeated query id) returns "". ``tg.redeliver_payment`` sends
    the same message again as a new update, as Telegram does with unconfirmed updates. In a
    private chat an invoice is paid once (its button then shows the receipt).

What Telegram answers, and how sure this is
    From the Bot API server's sources (telegram-bot-api, TDLib) or answers people reported:
      * missing parameters: 'parameter "title" is required' (also description, payload,
        currency, prices; error_message when ok is false; telegram_payment_charge_id),
        "invalid user_id specified";
      * prices: "can't parse prices JSON object", "expected an Array of labeled prices",
        "there must be at least one price", "can't parse labeled price: <why>" with TDLib's
        JSON reasons (a fraction of a star: 'Field "amount" must be a valid Number');
      * "total price must be positive" and the tip checks (TDLib);
      * PAYMENT_PROVIDER_INVALID for a currency other than XTR without a working provider
        token (the emulator knows no providers, so: for every other currency);
      * STARS_INVOICE_INVALID for an XTR invoice with tips or more than one price;
      * CURRENCY_TOTAL_AMOUNT_INVALID past the Stars ceiling and INVOICE_PAYLOAD_INVALID past
        128 bytes (documented errors of messages.sendMedia; the ceiling follows Telegram's
        config: 100000 stars was reported accepted and 150000 refused, so
        ``tg.stars_amount_limit`` is 100000);
      * "query is too old and response timeout expired or query ID is invalid";
      * CHARGE_ALREADY_REFUNDED.
    Not confirmed (the emulator's best guess):
      * STARS_INVOICE_INVALID for an XTR invoice with a provider token;
      * CHARGE_NOT_FOUND for a charge Telegram does not know for that user (an MTProto error
        of payments.refundStarsCharge, as is CHARGE_ID_INVALID);
      * REPLY_MARKUP_BUY_EMPTY and BUTTON_POS_INVALID for a keyboard without a Pay button
        first (documented for messages.sendMedia, the cases assumed);
      * the texts for a title over 32 or a description over 255 characters (none found).
    A refund pushes no ``refunded_payment`` message: Telegram has such a service message
    ("received by both users and bots"), but that the Bot API delivers it to the bot that made
    the refund could not be confirmed.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from tests.fakes.telegram.core import EmulatorCore
from tests.fakes.telegram.errors import QUERY_INVALID, ApiError
from tests.fakes.telegram.formatting import validate_reply_markup
from tests.fakes.telegram.params import Params
from tests.fakes.telegram.records import (
    CheckoutAnswer,
    SentInvoice,
    StarPayment,
    StarRefund,
    StoredMessage,
    _PreCheckout,
)

T = TypeVar("T")

XTR = "XTR"
TITLE_LIMIT = 32  # characters
DESCRIPTION_LIMIT = 255  # characters
PAYLOAD_LIMIT = 128  # bytes, UTF-8
STARS_AMOUNT_LIMIT = 100_000
TIPS_LIMIT = 4
PROVIDER_INVALID = "Bad Request: PAYMENT_PROVIDER_INVALID"
STARS_INVOICE_INVALID = "Bad Request: STARS_INVOICE_INVALID"
AMOUNT_INVALID = "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID"
PAYLOAD_INVALID = "Bad Request: INVOICE_PAYLOAD_INVALID"
PRICE_NOT_POSITIVE = "Bad Request: total price must be positive"
TITLE_INVALID = "Bad Request: invoice title must be 1-32 characters long"  # unconfirmed
DESCRIPTION_INVALID = "Bad Request: invoice description must be 1-255 characters long"  # ditto
PAY_BUTTON_MISSING = "Bad Request: REPLY_MARKUP_BUY_EMPTY"
PAY_BUTTON_NOT_FIRST = "Bad Request: BUTTON_POS_INVALID"
CHARGE_NOT_FOUND = "Bad Request: CHARGE_NOT_FOUND"
CHARGE_ALREADY_REFUNDED = "Bad Request: CHARGE_ALREADY_REFUNDED"

_INT64 = re.compile(r"-?[0-9]+")
_CHARGE_ALPHABET = string.ascii_letters + string.digits


def _required(params: Params, name: str) -> str:
    value = params.string(name)
    if not value:
        raise ApiError(f'Bad Request: parameter "{name}" is required')
    return value


def _number_text(value: Any) -> str | None:
    """A JSON value as TDLib reads a Number field: its text, or None if it is no number."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    return None


def _int64(text: str) -> int | None:
    if not _INT64.fullmatch(text):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


def _labeled_price(item: Any) -> dict[str, Any]:
    def refuse(reason: str) -> NoReturn:
        raise ApiError(f"Bad Request: can't parse labeled price: {reason}")

    if not isinstance(item, dict):
        refuse("LabeledPrice must be an Object")
    if "label" not in item:
        refuse('Can\'t find field "label"')
    label = _number_text(item["label"])
    if label is None:
        refuse('Field "label" must be of type String')
    if not label:
        refuse("LabeledPrice label must be non-empty")
    if "amount" not in item:
        refuse('Can\'t find field "amount"')
    text = _number_text(item["amount"])
    if text is None:
        refuse('Field "amount" must be a Number')
    amount = _int64(text)
    if amount is None:
        refuse('Field "amount" must be a valid Number')
    return {"label": label, "amount": amount}


def _labeled_prices(params: Params) -> list[dict[str, Any]]:
    raw = params.json("prices", "Bad Request: can't parse prices JSON object")
    if raw is None:
        raise ApiError('Bad Request: parameter "prices" is required')
    if not isinstance(raw, list):
        raise ApiError("Bad Request: expected an Array of labeled prices")
    prices = [_labeled_price(item) for item in raw]
    if not prices:
        raise ApiError("Bad Request: there must be at least one price")
    return prices


def _tips(params: Params) -> tuple[int, list[int]]:
    """max_tip_amount and suggested_tip_amounts, parsed and checked like the Bot API and TDLib."""
    max_tip = 0
    if params.has("max_tip_amount"):
        parsed = _int64(str(params.get("max_tip_amount")))
        if parsed is None:
            raise ApiError('Bad Request: can\'t parse "max_tip_amount" as Number')
        max_tip = parsed
    suggested: list[int] = []
    raw = params.json(
        "suggested_tip_amounts", "Bad Request: can't parse suggested_tip_amounts JSON object"
    )
    if raw is not None:
        if not isinstance(raw, list):
            raise ApiError("Bad Request: expected an Array of suggested tip amounts")
        for item in raw:
            text = _number_text(item)
            if text is None:
                raise ApiError("Bad Request: suggested tip amount must be of type Number or String")
            tip = _int64(text)
            if tip is None:
                raise ApiError("Bad Request: can't parse suggested tip amount as Number")
            suggested.append(tip)
    return max_tip, suggested


def _check_tips(max_tip: int, suggested: list[int]) -> None:
    if max_tip < 0:
        raise ApiError("Bad Request: invalid max_tip_amount of the currency specified")
    for tip in suggested:
        if tip <= 0:
            raise ApiError("Bad Request: suggested tip amount must be positive")
        if tip > max_tip:
            raise ApiError("Bad Request: suggested tip amount can't be bigger than max_tip_amount")
    if len(suggested) > TIPS_LIMIT:
        raise ApiError("Bad Request: there can be at most 4 suggested tip amounts")


def _check_pay_button(markup: dict[str, Any] | None) -> None:
    """An invoice's own keyboard must start with its Pay button."""
    if markup is None or "inline_keyboard" not in markup:
        return
    buttons = [button for row in markup["inline_keyboard"] for button in row]
    if buttons[0].get("pay") is True:
        return
    if any(button.get("pay") is True for button in buttons):
        raise ApiError(PAY_BUTTON_NOT_FIRST)
    raise ApiError(PAY_BUTTON_MISSING)


class Payments(EmulatorCore):
    """Invoices in Telegram Stars, the user's side of paying them, and refunds."""

    stars_amount_limit = STARS_AMOUNT_LIMIT  # the most stars one invoice may ask for

    if TYPE_CHECKING:  # server.BotApiEmulator joins this group with the waiting and the report

        async def wait_for(
            self,
            predicate: Callable[[], T | None],
            timeout: float = 10.0,  # noqa: ASYNC109
        ) -> T: ...

        def report(self, headline: str = "emulator state", last: int = 30) -> str: ...

    def _m_sendInvoice(self, params: Params) -> dict[str, Any]:
        title = _required(params, "title")
        description = _required(params, "description")
        payload = _required(params, "payload")
        provider_token = params.string("provider_token") or ""
        currency = _required(params, "currency")
        prices = _labeled_prices(params)
        max_tip, suggested_tips = _tips(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        chat = self._chat(params, sending=True)
        reply_to, topic = self._destination(chat, params)
        total = sum(price["amount"] for price in prices)
        if total <= 0:
            raise ApiError(PRICE_NOT_POSITIVE)
        _check_tips(max_tip, suggested_tips)
        if currency != XTR:
            raise ApiError(PROVIDER_INVALID)
        if provider_token or len(prices) != 1 or max_tip or suggested_tips:
            raise ApiError(STARS_INVOICE_INVALID)
        if total > self.stars_amount_limit:
            raise ApiError(AMOUNT_INVALID)
        if len(payload.encode()) > PAYLOAD_LIMIT:
            raise ApiError(PAYLOAD_INVALID)
        if len(title) > TITLE_LIMIT:
            raise ApiError(TITLE_INVALID)
        if len(description) > DESCRIPTION_LIMIT:
            raise ApiError(DESCRIPTION_INVALID)
        _check_pay_button(markup)
        start_parameter = params.string("start_parameter") or ""
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": start_parameter,
            "currency": currency,
            "total_amount": total,
        }
        message = self._new_message(
            chat,
            self.bot_user,
            media={"invoice": invoice},
            reply_to=reply_to,
            reply_markup=markup,
            topic=topic,
        )
        self._invoices[(chat.id, message.message_id)] = SentInvoice(
            chat_id=chat.id,
            message_id=message.message_id,
            title=title,
            description=description,
            payload=payload,
            currency=currency,
            total_amount=total,
            prices=prices,
            start_parameter=start_parameter,
            provider_token=provider_token,
        )
        return self._message_dict(message)

    def _m_answerPreCheckoutQuery(self, params: Params) -> bool:
        ok = params.flag("ok")
        error_message = None if ok else _required(params, "error_message")
        query = self._pre_checkouts.get(params.string("pre_checkout_query_id") or "")
        if query is None or query.state != "pending":
            raise ApiError(QUERY_INVALID)
        if self.clock() - query.asked_at > self.checkout_timeout:
            query.state = "expired"
            raise ApiError(QUERY_INVALID)
        query.state = "answered"
        query.answer = CheckoutAnswer(
            pre_checkout_query_id=query.id,
            ok=ok,
            error_message=error_message,
            user_id=query.user_id,
            invoice_payload=query.invoice.payload,
            total_amount=query.invoice.total_amount,
            time=time.monotonic(),
        )
        self.checkout_answers.append(query.answer)
        return True

    def _m_refundStarPayment(self, params: Params) -> bool:
        user_id = params.integer("user_id")
        if user_id is None or user_id <= 0:
            raise ApiError("Bad Request: invalid user_id specified")
        charge_id = _required(params, "telegram_payment_charge_id")
        payment = next(
            (
                p
                for p in self.payments
                if p.telegram_payment_charge_id == charge_id and p.user_id == user_id
            ),
            None,
        )
        if payment is None:
            raise ApiError(CHARGE_NOT_FOUND)
        if payment.refunded:
            raise ApiError(CHARGE_ALREADY_REFUNDED)
        payment.refunded = True
        self.refunds.append(
            StarRefund(
                user_id=user_id,
                telegram_payment_charge_id=charge_id,
                total_amount=payment.total_amount,
                invoice_payload=payment.invoice_payload,
                time=time.monotonic(),
            )
        )
        return True

    def invoices(self, chat_id: int | None = None) -> list[SentInvoice]:
        """The invoices the bot sent (to one chat, if given), oldest first."""
        return [i for i in self._invoices.values() if chat_id is None or i.chat_id == chat_id]

    def payment(self, charge_id: str) -> StarPayment:
        """The payment with this telegram_payment_charge_id (KeyError if there is none)."""
        for payment in self.payments:
            if payment.telegram_payment_charge_id == charge_id:
                return payment
        raise KeyError(f"no payment {charge_id!r} among {len(self.payments)} payments")

    def _sent_invoice(self, invoice: StoredMessage | SentInvoice) -> SentInvoice:
        if isinstance(invoice, SentInvoice):
            return invoice
        sent = self._invoices.get((invoice.chat_id, invoice.message_id))
        if sent is None:
            raise ValueError(f"{invoice!r} is not an invoice the bot sent")
        return sent

    async def pay(
        self,
        invoice: StoredMessage | SentInvoice,
        *,
        user_id: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (a deadline with a report is the point)
    ) -> str:
        """A user pays the invoice (in a private chat its user; elsewhere ``user_id``, default
        1001): the bot gets a pre_checkout_query and, if it answers ok within
        ``checkout_timeout``, the successful_payment message. Returns the
        telegram_payment_charge_id, or "" when the bot refused or answered too late.

        Raises AssertionError with a report when the bot does not answer within ``timeout``
        seconds (default: checkout_timeout + 5), ValueError for a message that is no payable
        invoice.
        """
        sent = self._sent_invoice(invoice)
        chat, user = self._sender(sent.chat_id, user_id, None)
        message = chat.messages.get(sent.message_id)
        if message is None or message.deleted:
            raise ValueError(f"invoice {sent.message_id} in chat {sent.chat_id} was deleted")
        if chat.type == "private" and any(
            p.chat_id == chat.id and p.invoice_message_id == sent.message_id for p in self.payments
        ):
            raise ValueError(f"invoice {sent.message_id} in chat {chat.id} is already paid")
        query = _PreCheckout(
            id=str(6_000_000_000_000_000 + next(self._ids)),
            invoice=sent,
            user_id=user["id"],
            asked_at=self.clock(),
        )
        self._pre_checkouts[query.id] = query
        self._push_update(
            "pre_checkout_query",
            {
                "id": query.id,
                "from": dict(user),
                "currency": sent.currency,
                "total_amount": sent.total_amount,
                "invoice_payload": sent.payload,
            },
        )
        limit = self.checkout_timeout + 5.0 if timeout is None else timeout
        try:
            await self.wait_for(lambda: query.state != "pending", limit)
        except AssertionError:
            raise AssertionError(
                self.report(
                    f"pre_checkout_query {query.id} ({sent.payload!r}) not answered within {limit}s"
                )
            ) from None
        if query.answer is None or not query.answer.ok:
            return ""
        charge_id = "stx" + "".join(secrets.choice(_CHARGE_ALPHABET) for _ in range(60))
        paid = self._new_message(
            chat,
            user,
            media={
                "successful_payment": {
                    "currency": sent.currency,
                    "total_amount": sent.total_amount,
                    "invoice_payload": sent.payload,
                    "telegram_payment_charge_id": charge_id,
                    "provider_payment_charge_id": "",
                }
            },
        )
        delivered = self._message_dict(paid)
        self.payments.append(
            StarPayment(
                telegram_payment_charge_id=charge_id,
                user_id=user["id"],
                chat_id=chat.id,
                invoice_message_id=sent.message_id,
                invoice_payload=sent.payload,
                total_amount=sent.total_amount,
                message=delivered,
                currency=sent.currency,
            )
        )
        self._push_update("message", delivered)
        return charge_id

    def redeliver_payment(self, charge_id: str) -> dict[str, Any]:
        """Telegram delivers the payment's successful_payment message again, as a new update
        (same message); returns the update."""
        return self._push_update("message", dict(self.payment(charge_id).message))
