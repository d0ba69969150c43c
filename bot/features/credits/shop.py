"""Buying credits with Telegram Stars: /buy (a button per pack), the invoice, the
pre-checkout answer, crediting the successful payment once, and /paysupport.

The invoice's payload names the pack (``pack:<stars>:<credits>``): a payment credits what its
invoice offered, even if the operator has changed STARS_PACKS since. Telegram asks before
taking the Stars (the pre-checkout query), and the bot says yes only while that very pack is
still offered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from bot.features.credits.texts import amount
from bot.i18n import N_, Translator
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext
from bot.runtime.credits import Pack
from bot.runtime.languages import texts_for
from bot.telegram.callback_data import CallbackData
from bot.telegram.commands import arguments, no_arguments

log = logging.getLogger(__name__)

XTR = "XTR"
"""Telegram Stars, the currency of digital goods (no payment provider)."""

NOT_SOLD = N_("Buying credits is not offered here.")
NO_LONGER_OFFERED = N_("This pack is no longer offered; send /buy again.")
PAYSUPPORT = N_("""\
💬 Help with a payment

Write to the people who run this bot: say what went wrong and give the payment ID. It is in \
my thank-you message and in the receipt Telegram keeps with the payment. Telegram's own \
support cannot help with purchases made in bots.

Refunds: credits that are not spent yet can be refunded. The Stars go back to your Telegram \
balance and the credits of that payment are taken back. Credits already spent cannot be \
refunded.""")


def _positive(*values: int) -> None:
    if any(value < 1 for value in values):
        raise ValueError("a pack has at least 1 star and 1 credit")


@dataclass(frozen=True)
class PackPress(CallbackData):
    """A pack's button under /buy: ``buy:<stars>:<credits>``."""

    prefix: ClassVar[str] = "buy"

    stars: int
    credits: int

    def __post_init__(self) -> None:
        _positive(self.stars, self.credits)


@dataclass(frozen=True)
class PackPayload(CallbackData):
    """An invoice's payload, which only the bot reads back: the pack it sells,
    ``pack:<stars>:<credits>`` (packed like callback data, well within Telegram's 128 bytes)."""

    prefix: ClassVar[str] = "pack"

    stars: int
    credits: int

    def __post_init__(self) -> None:
        _positive(self.stars, self.credits)


def pack_label(tr: Translator, pack: Pack) -> str:
    """A pack's button: "⭐ 50 → 100 credits"."""
    return f"⭐ {pack.stars} → {amount(tr, pack.credits)}"


def still_offered(packs: Sequence[Pack], payload: str, currency: str, total: int) -> bool:
    """Whether an invoice's payment may go ahead: its payload names a pack that ``packs``
    still holds (same Stars, same credits), in XTR, for that pack's price."""
    bought = PackPayload.unpack(payload)
    return (
        bought is not None
        and Pack(bought.stars, bought.credits) in packs
        and currency == XTR
        and total == bought.stars
    )


async def buy_command(update: Update, context: BotContext) -> None:
    """Replies with one button per pack of STARS_PACKS, or says nothing is sold here."""
    message = update.effective_message
    if message is None:
        return
    credits = context.runtime.credits
    tr = await texts_for(context.runtime, update)
    if refusal := no_arguments(tr, "buy", arguments(message, context.bot.username)):
        raise Rejected(refusal)
    if not credits.packs:
        await message.reply_text(tr.gettext(NOT_SOLD))
        return
    buttons = [
        [
            InlineKeyboardButton(
                pack_label(tr, p), callback_data=PackPress(p.stars, p.credits).pack()
            )
        ]
        for p in credits.packs
    ]
    text = tr.gettext(
        "⭐ Credits for Telegram Stars. Bought credits never expire and are spent after the "
        "free ones; whoever pays gets them. Pick a pack:"
    )
    await message.reply_text(text, reply_markup=InlineKeyboardMarkup(buttons))


async def pack_pressed(update: Update, context: BotContext) -> None:
    """Sends the invoice of the pressed pack to the chat it was pressed in (a reply to the
    /buy menu); a pack no longer offered, or forged data, gets an alert instead."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    credits = context.runtime.credits
    tr = await texts_for(context.runtime, update)
    press = PackPress.unpack(query.data)
    if press is None or Pack(press.stars, press.credits) not in credits.packs:
        raise Rejected(tr.gettext(NO_LONGER_OFFERED))
    title = amount(tr, press.credits)
    description = tr.gettext(
        "{credits} for pictures and answers from @{bot}. Bought credits never expire and are "
        "spent after the free ones."
    ).format(credits=title, bot=context.bot.username)
    payload = PackPayload(press.stars, press.credits).pack()
    invoice = (title, description, payload, XTR, [LabeledPrice(title, press.stars)])
    if isinstance(query.message, Message):
        await query.message.reply_invoice(*invoice)
    else:  # the menu is too old to reply to
        await context.bot.send_invoice(chat.id, *invoice)
    await query.answer()


async def pre_checkout(update: Update, context: BotContext) -> None:
    """Telegram asks before taking the Stars: yes while the invoice's pack (same Stars, same
    credits, in XTR) is still offered; otherwise no, with the reason in the payer's
    language."""
    query = update.pre_checkout_query
    if query is None:
        return
    packs = context.runtime.credits.packs
    if still_offered(packs, query.invoice_payload, query.currency, query.total_amount):
        await query.answer(ok=True)
        return
    tr = await texts_for(context.runtime, update)
    log.info("pre-checkout %s refused: %r is not offered", query.id, query.invoice_payload)
    await query.answer(ok=False, error_message=tr.gettext(NO_LONGER_OFFERED))


async def paid(update: Update, context: BotContext) -> None:
    """Credits a successful payment with its invoice's pack, stored before anything is said,
    then thanks the payer with their new balance. Telegram's redelivery of the same payment
    credits nothing more: the payer is told it was already added."""
    message = update.effective_message
    payment = message.successful_payment if message else None
    if message is None or payment is None or message.from_user is None:
        return
    runtime = context.runtime
    user_id = message.from_user.id
    charge_id = payment.telegram_payment_charge_id
    bought = PackPayload.unpack(payment.invoice_payload)
    credits = bought.credits if bought is not None else 0
    new = await runtime.credits.credit_payment(charge_id, user_id, payment.total_amount, credits)
    tr = await texts_for(runtime, update)
    if bought is None:  # the pre-checkout let no such payload through
        log.error(
            "payment %s by user %d: the payload %r names no pack; recorded with 0 credits",
            charge_id,
            user_id,
            payment.invoice_payload,
        )
        text = tr.gettext(
            "⭐ Your payment arrived, but I cannot tell which pack it was for. Send /paysupport "
            "and give this payment ID: {charge_id}"
        )
        await message.reply_text(text.format(charge_id=charge_id))
        return
    total = amount(tr, (await runtime.credits.balance(user_id)).total)
    if not new:
        log.info("payment %s delivered again: already credited", charge_id)
        text = tr.gettext("⭐ This payment was already added: you have {total}.")
        await message.reply_text(text.format(total=total))
        return
    log.info(
        "payment %s: user %d paid %d stars for %d credits",
        charge_id,
        user_id,
        payment.total_amount,
        credits,
    )
    text = tr.gettext(
        "⭐ Thank you! {credits} added; you have {total}.\nPayment ID (for /paysupport): "
        "{charge_id}"
    )
    await message.reply_text(
        text.format(credits=amount(tr, credits), total=total, charge_id=charge_id)
    )


async def paysupport_command(update: Update, context: BotContext) -> None:
    """Replies with how to get help with a payment and how refunds work."""
    message = update.effective_message
    if message is None:
        return
    tr = await texts_for(context.runtime, update)
    await message.reply_text(tr.gettext(PAYSUPPORT))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("buy", buy_command),
        CallbackQueryHandler(pack_pressed, pattern=PackPress.pattern()),
        PreCheckoutQueryHandler(pre_checkout),
        MessageHandler(filters.SUCCESSFUL_PAYMENT, paid),
        CommandHandler("paysupport", paysupport_command),
    ]
