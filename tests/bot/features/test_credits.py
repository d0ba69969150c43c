"""The credits commands' small parts: what a pack's button and invoice carry, which payments
may go ahead, how a renewal is said, and what /grant and /refund accept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.features.credits.admin import grant_arguments, refund_arguments
from bot.features.credits.shop import PackPayload, PackPress, still_offered
from bot.features.credits.texts import renewal
from bot.i18n import translator
from bot.jobs.rejected import Rejected
from bot.runtime.credits import MAX_GRANT, Pack
from bot.settings import MAX_PACK_CREDITS, MAX_PACK_STARS

EN = translator("en")
PACKS = [Pack(50, 100), Pack(250, 600)]


def test_the_largest_pack_fits_a_button_and_an_invoice_payload() -> None:
    press = PackPress(MAX_PACK_STARS, MAX_PACK_CREDITS)
    payload = PackPayload(MAX_PACK_STARS, MAX_PACK_CREDITS)
    assert len(press.pack().encode()) <= 64  # callback_data
    assert len(payload.pack().encode()) <= 128  # an invoice's payload
    assert PackPress.unpack(press.pack()) == press
    assert PackPayload.unpack(payload.pack()) == payload
    assert PackPayload(50, 100).pack() == "pack:50:100"


@pytest.mark.parametrize(
    "payload", ["pack:0:100", "pack:50:0", "pack:50", "pack:x:100", "pack:50:100:1", "buy:50:100"]
)
def test_a_forged_payload_names_no_pack(payload: str) -> None:
    assert PackPayload.unpack(payload) is None
    assert not still_offered(PACKS, payload, "XTR", 50)


def test_a_payment_goes_ahead_only_for_a_pack_still_offered_at_its_price() -> None:
    assert still_offered(PACKS, "pack:50:100", "XTR", 50)
    assert still_offered(PACKS, "pack:250:600", "XTR", 250)
    assert not still_offered(PACKS, "pack:50:120", "XTR", 50)  # the pack changed since
    assert not still_offered(PACKS, "pack:75:150", "XTR", 75)  # removed
    assert not still_offered(PACKS, "pack:50:100", "XTR", 49)
    assert not still_offered(PACKS, "pack:50:100", "USD", 50)
    assert not still_offered([], "pack:50:100", "XTR", 50)


def at(when: str) -> float:
    return datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("now", "renews", "said"),
    [
        ("2025-03-10 19:00", "2025-03-11 00:00", "in 5 h"),
        ("2025-03-10 23:20", "2025-03-11 00:00", "in 40 min"),
        ("2025-03-30 12:00", "2025-04-01 00:00", "in 36 h"),
        ("2025-03-10 12:00", "2025-04-01 00:00", "on 1 April, 00:00 UTC"),
        ("2025-12-05 12:00", "2026-01-01 00:00", "on 1 January, 00:00 UTC"),
    ],
)
def test_a_renewal_is_a_wait_when_near_and_a_date_when_far(
    now: str, renews: str, said: str
) -> None:
    assert renewal(EN, at(renews), at(now)) == said


def test_grant_takes_a_user_id_and_a_sensible_amount() -> None:
    assert grant_arguments(" 123456789   50 ", EN) == (123456789, 50)
    assert grant_arguments(f"7 {MAX_GRANT}", EN) == (7, MAX_GRANT)
    for bad in ("", "7", "7 0", "7 -1", f"7 {MAX_GRANT + 1}", "0 5", "-7 5", "@user 5", "7 5 5"):
        with pytest.raises(Rejected, match="Send /grant <user_id> <credits>"):
            grant_arguments(bad, EN)


def test_refund_takes_a_charge_id_and_maybe_force() -> None:
    assert refund_arguments("stxABC", EN) == ("stxABC", False)
    assert refund_arguments("stxABC FORCE", EN) == ("stxABC", True)
    for bad in ("", "stxABC now", "stxABC force twice"):
        with pytest.raises(Rejected, match="Send /refund <payment ID>"):
            refund_arguments(bad, EN)
