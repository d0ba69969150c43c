"""For the operators (ADMIN_USER_IDS): /grant <user_id> <credits> and
/refund <telegram_payment_charge_id> [force]. Anyone else is refused and nothing changes.

A refund asks Telegram first and changes the credits only once Telegram has given the Stars
back, so credits are never taken without the Stars returned. Whether the payment's credits
are still unspent is checked before asking Telegram (without ``force`` a refund of spent
credits is refused and Telegram is not asked); once the Stars are back, the credits are taken
in any case (down to 0 if the user spent some in the moment between), so Stars never go back
while their credits stay.
"""

from __future__ import annotations

import logging
import re

from telegram import Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.features.credits.texts import amount, moment_of
from bot.i18n import N_, Translator
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext, Runtime
from bot.runtime.credits import MAX_GRANT, AlreadyRefunded, PaymentRecord, UnknownCharge
from bot.runtime.languages import texts_for
from bot.telegram.commands import arguments, quoted, too_long

log = logging.getLogger(__name__)

OPERATORS_ONLY = N_("Sorry, /{command} is for the bot's operators only.")
CREDITS_OFF = N_("Credits are off here (FREE_CREDITS is not set): there is nothing to grant.")
GRANT_USAGE = N_(
    "Send /grant <user_id> <credits>, for example /grant 123456789 50: a user's numeric "
    "Telegram id and from 1 to {most} credits."
)
REFUND_USAGE = N_(
    "Send /refund <payment ID>, or /refund <payment ID> force to take back credits that were "
    "partly spent. The payment ID is in the payer's thank-you message and receipt."
)
FORCE = "force"
ALREADY_REFUNDED = "charge_already_refunded"  # Telegram's error (any case) for a second refund
USER_ID = re.compile(r"[1-9][0-9]{0,15}")
WHOLE = re.compile(r"[0-9]{1,9}")


def from_operator(
    update: Update, context: BotContext, command: str, tr: Translator
) -> tuple[Message, int]:
    """The command's message and the operator who sent it; Rejected (nothing changes) when
    someone else did."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.id not in context.runtime.settings.admin_user_ids:
        raise Rejected(tr.gettext(OPERATORS_ONLY).format(command=command))
    return message, user.id


def grant_arguments(text: str, tr: Translator) -> tuple[int, int]:
    """(user_id, credits) from what follows /grant; Rejected with the usage otherwise."""
    words = text.split()
    usage = tr.gettext(GRANT_USAGE).format(most=MAX_GRANT)
    if len(words) != 2 or not USER_ID.fullmatch(words[0]) or not WHOLE.fullmatch(words[1]):
        raise Rejected(usage)
    user_id, credits = int(words[0]), int(words[1])
    if not 1 <= credits <= MAX_GRANT:
        raise Rejected(usage)
    return user_id, credits


async def grant_command(update: Update, context: BotContext) -> None:
    """Adds bought credits to a user and replies with what they have now."""
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    message, operator = from_operator(update, context, "grant", tr)
    sent = arguments(message, context.bot.username)
    if refusal := too_long(tr, "grant", sent):
        raise Rejected(refusal)
    user_id, credits = grant_arguments(sent, tr)
    if not runtime.credits.enabled:
        raise Rejected(tr.gettext(CREDITS_OFF))
    balance = await runtime.credits.grant(user_id, credits, operator)
    log.info("operator %d granted %d credits to user %d", operator, credits, user_id)
    text = tr.gettext(
        "✅ {credits} granted to user {user}: they have {total} now ({bought} bought)."
    )
    await message.reply_text(
        text.format(
            credits=amount(tr, credits),
            user=user_id,
            total=amount(tr, balance.total),
            bought=balance.bought,
        )
    )


def refund_arguments(text: str, tr: Translator) -> tuple[str, bool]:
    """(charge_id, force) from what follows /refund; Rejected with the usage otherwise."""
    words = text.split()
    if not 1 <= len(words) <= 2 or (len(words) == 2 and words[1].lower() != FORCE):
        raise Rejected(tr.gettext(REFUND_USAGE))
    return words[0], len(words) == 2


async def find_payment(runtime: Runtime, charge_id: str) -> PaymentRecord | None:
    """The stored payment with this Telegram charge id, or None."""
    return await runtime.credits.payment(charge_id)


async def refund_command(update: Update, context: BotContext) -> None:
    """Gives a payment's Stars back through Telegram, then takes its credits back (see the
    module's docstring for the order); every refusal says why and changes nothing."""
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    message, _ = from_operator(update, context, "refund", tr)
    sent = arguments(message, context.bot.username)
    if refusal := too_long(tr, "refund", sent):
        raise Rejected(refusal)
    charge_id, force = refund_arguments(sent, tr)
    payment = await find_payment(runtime, charge_id)
    if payment is None:
        text = tr.gettext("No payment has the ID “{charge_id}”; nothing was refunded.")
        raise Rejected(text.format(charge_id=quoted(charge_id)))
    if payment.refunded_at is not None:
        raise Rejected(already_refunded(tr, payment, payment.refunded_at))
    if runtime.credits.enabled and not force:
        left = (await runtime.credits.balance(payment.user_id)).bought
        if left < payment.credits:
            raise Rejected(spent_text(tr, payment, left))
    telegram_had_refunded = await refund_stars(context, payment, tr)
    try:
        await runtime.credits.refund(charge_id, force=True)  # the Stars are back: so go these
    except (AlreadyRefunded, UnknownCharge):  # another /refund finished first
        raise Rejected(already_refunded(tr, payment, None)) from None
    log.info(
        "payment %s refunded: %d stars back to user %d, %d credits taken back",
        charge_id,
        payment.stars,
        payment.user_id,
        payment.credits,
    )
    balance = await runtime.credits.balance(payment.user_id)
    text = tr.gettext(
        "↩️ Refunded: {stars} ⭐ back to user {user}, {credits} taken back; they have {total} now."
    ).format(
        stars=payment.stars,
        user=payment.user_id,
        credits=amount(tr, payment.credits),
        total=amount(tr, balance.total),
    )
    if telegram_had_refunded:
        text += "\n" + tr.gettext("(Telegram had already given the Stars back.)")
    await message.reply_text(text)


async def refund_stars(context: BotContext, payment: PaymentRecord, tr: Translator) -> bool:
    """Asks Telegram to give the payment's Stars back. True when Telegram says it already
    had; Rejected, with Telegram's reason, when it refuses (nothing changed then)."""
    try:
        await context.bot.refund_star_payment(payment.user_id, payment.charge_id)
    except (BadRequest, Forbidden) as error:
        if ALREADY_REFUNDED in error.message.lower():
            return True
        text = tr.gettext("Telegram refused the refund ({reason}); nothing changed.")
        raise Rejected(text.format(reason=error.message)) from None
    except TelegramError as error:
        log.warning("refund of %s: Telegram did not answer: %s", payment.charge_id, error)
        text = tr.gettext(
            "Telegram did not answer; nothing changed here. Send the same /refund again: a "
            "refund is never made twice."
        )
        raise Rejected(text) from None
    return False


def already_refunded(tr: Translator, payment: PaymentRecord, when: float | None) -> str:
    """The refusal of a second refund of ``payment`` (refunded at ``when``, if known)."""
    if when is None:
        return tr.gettext("The payment {charge_id} was already refunded.").format(
            charge_id=payment.charge_id
        )
    text = tr.gettext("The payment {charge_id} was already refunded on {when}.")
    return text.format(charge_id=payment.charge_id, when=moment_of(when))


def spent_text(tr: Translator, payment: PaymentRecord, left: int) -> str:
    """The refusal of a refund whose credits were partly spent, and how to force it."""
    text = tr.gettext(
        "Not refunded: that payment brought {credits} and user {user} has {left} bought credits "
        "left, so some were spent. To give the Stars back anyway and take what is left (down "
        "to 0): /refund {charge_id} force"
    )
    return text.format(
        credits=amount(tr, payment.credits),
        user=payment.user_id,
        left=left,
        charge_id=payment.charge_id,
    )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    fresh = ~filters.UpdateType.EDITED  # fixing a typo in a /grant must not grant twice
    return [
        CommandHandler("grant", grant_command, filters=fresh),
        CommandHandler("refund", refund_command, filters=fresh),
    ]
