"""What a job costs, in credits: reserved when it is admitted, charged when it delivered, given
back when it ends any other way (see bot.runtime.credits for the accounting itself).

A hold is keyed by the command (chat, message, kind), so a restart finds it again: a job taken
up after a restart keeps its hold; one closed for good gives it back.
"""

from __future__ import annotations

import time

from bot.i18n import Translator
from bot.jobs.active import ActiveJob, Order
from bot.jobs.rejected import Rejected
from bot.runtime import Runtime
from bot.runtime.credits import Balance, NotEnoughCredits
from bot.storage.records import JobRow
from providers import ModelEntry, UnknownModel

PICTURE_KINDS = ("imagine", "edit", "inline")
"""Kinds of job charged per picture (``n``); the others (questions) are charged once."""


def hold_key(chat_id: int, command_message_id: int, kind: str) -> str:
    """The key a job's hold is kept under: its command, which a restart finds again."""
    return f"{chat_id}:{command_message_id}:{kind}"


def key_of(order: Order) -> str:
    return hold_key(order.chat_id, order.command_message_id, order.kind)


def row_key(row: JobRow) -> str:
    return hold_key(row.chat_id, row.command_message_id, row.kind)


def pictures_of(order: Order) -> int:
    """How many pictures (or answers) the order asks for: what its cost is multiplied by."""
    if order.kind not in PICTURE_KINDS:
        return 1
    n = order.options.get("n")
    return n if isinstance(n, int) and n > 0 else 1


async def reserve(runtime: Runtime, order: Order, tr: Translator) -> int:
    """Holds the order's cost for its user and returns it (0: free, credits off, or an
    operator); Rejected, saying what it needs and what the user has, when they have too few."""
    credits = runtime.credits
    if not credits.enabled or credits.exempt(order.user_id):
        return 0
    try:
        entry = runtime.registry.resolve(order.model_id)
    except UnknownModel:
        return 0
    cost = credits.cost_of(entry, pictures_of(order))
    if cost <= 0:
        return 0
    try:
        await credits.reserve(key_of(order), order.user_id, entry, cost)
    except NotEnoughCredits as short:
        raise Rejected(too_few_text(tr, short.needed, short.balance, bool(credits.packs))) from None
    return cost


async def settle(active: ActiveJob) -> None:
    """Charges a job that delivered: what :attr:`ActiveJob.charge` says (the model that drew
    and the pictures it sent), else the whole hold; the rest of the hold is given back."""
    charge = active.charge
    if charge is None:
        await active.runtime.credits.settle(key_of(active.order))
        return
    amount, provider = charge
    await active.runtime.credits.settle(key_of(active.order), amount, provider)


def charge_for(active: ActiveJob, drawn: ModelEntry, pictures: int) -> None:
    """Notes that ``drawn`` delivered ``pictures``: what the job is charged when it ends (the
    cheaper fallback's price when one stood in; never more than was held)."""
    credits = active.runtime.credits
    active.charge = (credits.cost_of(drawn, pictures), drawn.provider.name)


def cost_text(tr: Translator, cost: int) -> str:
    """ "2 credits" in ``tr``'s language."""
    return tr.ngettext("{count} credit", "{count} credits", cost).format(count=cost)


def too_few_text(tr: Translator, needed: int, balance: Balance, can_buy: bool) -> str:
    """ "This needs 4 credits; you have 1. Free credits renew in 5 h. /buy" in ``tr``'s
    language (the /buy hint only where credits are sold)."""
    have = tr.gettext("you have {count}").format(count=balance.total)
    text = tr.gettext("This needs {cost}; {have}.").format(cost=cost_text(tr, needed), have=have)
    if balance.free_per_period:
        renews = renews_in(tr, balance.renews_at - time.time())
        text += " " + tr.gettext("Free credits renew in {when}.").format(when=renews)
    if can_buy:
        text += " " + tr.gettext("Send /buy to get more.")
    return text


def renews_in(tr: Translator, seconds: float) -> str:
    """A wait as people say it: "5 h", "40 min", "3 days"."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return tr.gettext("{count} min").format(count=minutes)
    hours = round(minutes / 60)
    if hours < 48:
        return tr.gettext("{count} h").format(count=hours)
    days = round(hours / 24)
    return tr.ngettext("{count} day", "{count} days", days).format(count=days)
