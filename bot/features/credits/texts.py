"""Texts the credits commands share: an amount of credits, a day of the year, a renewal."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import N_, Translator
from bot.jobs.billing import renews_in

DAYS_SAID_AS_A_WAIT = 2
"""A renewal sooner than this many days is said as a wait ("in 5 h"), a later one as a date."""

MONTHS = (
    N_("{day} January"),
    N_("{day} February"),
    N_("{day} March"),
    N_("{day} April"),
    N_("{day} May"),
    N_("{day} June"),
    N_("{day} July"),
    N_("{day} August"),
    N_("{day} September"),
    N_("{day} October"),
    N_("{day} November"),
    N_("{day} December"),
)
"""A day of each month as a sentence says it (Russian puts the month in the genitive)."""


def amount(tr: Translator, count: int) -> str:
    """ "1 credit", "130 credits" in ``tr``'s language."""
    return tr.ngettext("{count} credit", "{count} credits", count).format(count=count)


def day_of(tr: Translator, moment: float) -> str:
    """The UTC day of Unix time ``moment``: "1 January"."""
    day = datetime.fromtimestamp(moment, UTC)
    return tr.gettext(MONTHS[day.month - 1]).format(day=day.day)


def renewal(tr: Translator, renews_at: float, now: float) -> str:
    """When free credits renew: "in 5 h" soon, "on 1 February, 00:00 UTC" further off."""
    wait = renews_at - now
    if wait < DAYS_SAID_AS_A_WAIT * 24 * 3600:
        return tr.gettext("in {wait}").format(wait=renews_in(tr, wait))
    return tr.gettext("on {day}, 00:00 UTC").format(day=day_of(tr, renews_at))


def moment_of(moment: float) -> str:
    """Unix time ``moment`` for operators: "2025-01-31 14:05 UTC"."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")
