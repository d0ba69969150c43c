"""Credits as users and operators meet them, end to end through the Bot API emulator:
/balance, /buy -> an invoice in Telegram Stars -> the pre-checkout answer -> the payment
credited once (whatever Telegram redelivers, across restarts), /paysupport, and the
operators' /grant and /refund."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tests.e2e.conftest import World
from tests.fakes.telegram import StoredMessage
from tests.fakes.telegram.records import SentInvoice

OPERATOR = 901
USER = 902
OTHER = 903
GROUP = -1009001
PACKS = "50=100,250=600"
CREDITS_ON: dict[str, Any] = {
    "free_credits": 3,
    "model_costs": "arta/*=2,dynaspark/*=1",
    "stars_packs": PACKS,
    "admin_user_ids": str(OPERATOR),
}
NO_LONGER_OFFERED = "This pack is no longer offered; send /buy again."


async def reply(world: World, chat_id: int, text: str, user_id: int | None = None) -> str:
    """The bot's answer to ``text`` sent in ``chat_id``."""
    command = world.tg.send_text(chat_id, text, user_id=user_id)
    return (await world.reply_to(chat_id, command, lambda m: True)).text or ""


def button(message: StoredMessage, text: str) -> str:
    """The callback data of the button labelled ``text``."""
    for candidate in message.buttons:
        if candidate["text"] == text:
            return str(candidate["callback_data"])
    raise AssertionError(f"no button {text!r} in {[b['text'] for b in message.buttons]}")


async def buy_menu(world: World, chat_id: int, user_id: int | None = None) -> StoredMessage:
    command = world.tg.send_text(chat_id, "/buy", user_id=user_id)
    return await world.reply_to(chat_id, command, lambda m: bool(m.buttons))


async def invoice_for(
    world: World, menu: StoredMessage, label: str, user_id: int | None = None
) -> SentInvoice:
    """Presses a pack's button under /buy; the invoice the bot sends for it."""
    tg = world.tg
    before = len(tg.invoices(menu.chat_id))
    tg.press_button(menu.chat_id, menu.message_id, button(menu, label), user_id=user_id)
    return await tg.wait_for(
        lambda: tg.invoices(menu.chat_id)[-1] if len(tg.invoices(menu.chat_id)) > before else None
    )


async def answers_to_payment(world: World, charge_id: str, count: int) -> list[str]:
    """The first ``count`` replies the bot gave to a payment's successful_payment message."""
    tg = world.tg
    paid = tg.payment(charge_id)
    message_id = paid.message["message_id"]

    def found() -> list[str]:
        texts = [m.text or "" for m in tg.bot_messages(paid.chat_id) if m.reply_to == message_id]
        return texts if len(texts) >= count else []

    return await tg.wait_for(found)


async def pay(world: World, invoice: SentInvoice, user_id: int | None = None) -> tuple[str, str]:
    """The user pays; (the charge id, the bot's thank-you)."""
    charge_id = await world.tg.pay(invoice, user_id=user_id)
    assert charge_id, world.tg.checkout_answers
    [thanks] = await answers_to_payment(world, charge_id, 1)
    return charge_id, thanks


def renewal_of_month(now: float) -> str:
    """How /balance says when monthly free credits renew."""
    today = datetime.fromtimestamp(now, UTC)
    first = (
        datetime(today.year + 1, 1, 1, tzinfo=UTC)
        if today.month == 12
        else datetime(today.year, today.month + 1, 1, tzinfo=UTC)
    )
    if first.timestamp() - now < 2 * 24 * 3600:
        return "renewing in "
    return f"renewing on 1 {first.strftime('%B')}, 00:00 UTC"


# -- /balance --------------------------------------------------------------------------------


async def test_without_credits_the_bot_is_free_and_sells_nothing(world: World) -> None:
    async with world.bot():
        assert await reply(world, USER, "/balance") == (
            "🆓 This bot is free to use here: no credits are counted."
        )
        assert await reply(world, USER, "/buy") == "Buying credits is not offered here."
        help_text = await reply(world, USER, "/help")
        assert "/balance" not in help_text and "/buy" not in help_text


async def test_balance_shows_free_credits_their_renewal_and_the_chats_prices(
    world: World,
) -> None:
    tg = world.tg
    tg.add_chat(GROUP, chat_type="supergroup")
    async with world.bot(**CREDITS_ON):
        mine = await reply(world, USER, "/balance")
        lines = mine.split("\n")
        assert lines[0] == "💰 Your credits: 3"
        assert lines[1].startswith("🎁 Free: 3 of 3 a day, renewing in ")
        assert lines[1].endswith(" h") or lines[1].endswith(" min")
        assert lines[2] == "⭐ Bought: 0 (they never expire and are spent after the free ones)"
        assert "What this chat's models cost:\n🎨 arta/flux: 2 credits a picture\n" in mine
        assert "🔎 dynaspark/" in mine and ": 1 credit an answer" in mine
        assert mine.endswith("Send /buy for more credits.")

        operator = await reply(world, OPERATOR, "/balance")
        assert operator.startswith("👑 You run this bot: nothing is charged to you.")
        assert "🎨 arta/flux: 2 credits a picture" in operator

        # In a group each sender gets their own balance, as a reply to them.
        await reply(world, OPERATOR, "/grant 903 7")
        group_other = await reply(world, GROUP, "/balance", user_id=OTHER)
        group_user = await reply(world, GROUP, "/balance@ImagineTestBot", user_id=USER)
        assert group_other.startswith("💰 Your credits: 10\n")
        assert group_user.startswith("💰 Your credits: 3\n")

        assert await reply(world, USER, "/balance please") == (
            "/balance takes nothing after it (you sent “please”). Send /balance alone."
        )

    async with world.bot(**{**CREDITS_ON, "credits_period": "month", "model_costs": ""}):
        monthly = await reply(world, USER, "/balance")
        assert "🎁 Free: 3 of 3 a month, " + renewal_of_month(time.time()) in monthly
        assert "🎨 arta/flux: free" in monthly


# -- /buy and paying -------------------------------------------------------------------------


async def test_a_pack_is_invoiced_in_stars_and_credited_once(world: World) -> None:
    tg = world.tg
    async with world.bot(**CREDITS_ON):
        menu = await buy_menu(world, USER)
        assert [b["text"] for b in menu.buttons] == ["⭐ 50 → 100 credits", "⭐ 250 → 600 credits"]
        assert (menu.text or "").endswith("Pick a pack:")

        invoice = await invoice_for(world, menu, "⭐ 50 → 100 credits")
        assert (invoice.currency, invoice.total_amount, invoice.provider_token) == ("XTR", 50, "")
        assert invoice.prices == [{"label": "100 credits", "amount": 50}]
        assert invoice.payload == "pack:50:100"
        assert invoice.title == "100 credits"
        assert "never expire" in invoice.description
        assert tg.message(USER, invoice.message_id).reply_to == menu.message_id

        charge_id, thanks = await pay(world, invoice)
        assert [a.ok for a in tg.checkout_answers] == [True]
        assert thanks == (
            "⭐ Thank you! 100 credits added; you have 103 credits.\n"
            f"Payment ID (for /paysupport): {charge_id}"
        )
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 103\n")

        tg.redeliver_payment(charge_id)
        answers = await answers_to_payment(world, charge_id, 2)
        assert answers[1] == "⭐ This payment was already added: you have 103 credits."
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 103\n")

    async with world.bot(**CREDITS_ON):  # a restart: the same database
        tg.redeliver_payment(charge_id)
        answers = await answers_to_payment(world, charge_id, 3)
        assert answers[2] == "⭐ This payment was already added: you have 103 credits."
        balance = await reply(world, USER, "/balance")
        assert balance.startswith("💰 Your credits: 103\n")
        assert "⭐ Bought: 100 " in balance


async def test_a_pack_no_longer_offered_is_refused_before_the_stars_are_taken(
    world: World,
) -> None:
    tg = world.tg
    async with world.bot(**CREDITS_ON):
        menu = await buy_menu(world, USER)
        invoice = await invoice_for(world, menu, "⭐ 50 → 100 credits")

    async with world.bot(**{**CREDITS_ON, "stars_packs": "75=150"}):
        assert await tg.pay(invoice) == ""
        [answer] = tg.checkout_answers
        assert (answer.ok, answer.error_message) == (False, NO_LONGER_OFFERED)
        assert tg.payments == []
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 3\n")

        pressed = tg.press_button(USER, menu.message_id, button(menu, "⭐ 250 → 600 credits"))
        await tg.wait_for(lambda: tg.callback_answers[-1].callback_query_id == pressed)
        assert tg.callback_answers[-1].text == NO_LONGER_OFFERED
        assert tg.callback_answers[-1].show_alert
        assert len(tg.invoices(USER)) == 1


async def test_a_payment_credits_the_pack_its_invoice_offered(world: World) -> None:
    """A payment whose crediting was lost (here: a database that never saw it) is credited
    from Telegram's redelivery with the invoice's pack, though STARS_PACKS changed since."""
    tg = world.tg
    async with world.bot(**CREDITS_ON):
        invoice = await invoice_for(world, await buy_menu(world, USER), "⭐ 250 → 600 credits")
        charge_id, _ = await pay(world, invoice)

    fresh = {**CREDITS_ON, "stars_packs": "75=150", "data_dir": world.data_dir / "fresh"}
    async with world.bot(**fresh):
        tg.redeliver_payment(charge_id)
        answers = await answers_to_payment(world, charge_id, 2)
        assert answers[1].startswith("⭐ Thank you! 600 credits added; you have 603 credits.")


async def test_in_a_group_whoever_pays_gets_the_credits(world: World) -> None:
    tg = world.tg
    tg.add_chat(GROUP, chat_type="supergroup")
    async with world.bot(**CREDITS_ON):
        menu = await buy_menu(world, GROUP, user_id=USER)
        invoice = await invoice_for(world, menu, "⭐ 50 → 100 credits", user_id=USER)
        assert invoice.chat_id == GROUP
        _, thanks = await pay(world, invoice, user_id=OTHER)
        assert thanks.startswith("⭐ Thank you! 100 credits added; you have 103 credits.")
        assert (await reply(world, GROUP, "/balance", user_id=OTHER)).startswith(
            "💰 Your credits: 103\n"
        )
        assert (await reply(world, GROUP, "/balance", user_id=USER)).startswith(
            "💰 Your credits: 3\n"
        )


async def test_paysupport_says_how_to_get_help_and_refunds(world: World) -> None:
    async with world.bot(**CREDITS_ON):
        text = await reply(world, USER, "/paysupport my payment did not arrive")
        assert text.startswith("💬 Help with a payment")
        assert "payment ID" in text and "Refunds:" in text
        assert "Credits already spent cannot be refunded." in text


# -- operators: /grant and /refund -----------------------------------------------------------


async def test_an_operator_grants_credits_and_bad_input_changes_nothing(world: World) -> None:
    async with world.bot(**CREDITS_ON):
        assert await reply(world, OPERATOR, f"/grant {USER} 20") == (
            f"✅ 20 credits granted to user {USER}: they have 23 credits now (20 bought)."
        )
        usage = (
            "Send /grant <user_id> <credits>, for example /grant 123456789 50: a user's "
            "numeric Telegram id and from 1 to 10000000 credits."
        )
        for bad in (
            "/grant",
            f"/grant {USER}",
            "/grant me 5",
            f"/grant {USER} 0",
            f"/grant {USER} -5",
            f"/grant {USER} 10000001",
            f"/grant {USER} 5 more",
        ):
            assert await reply(world, OPERATOR, bad) == usage, bad
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 23\n")

    async with world.bot(admin_user_ids=str(OPERATOR)):
        assert await reply(world, OPERATOR, f"/grant {USER} 20") == (
            "Credits are off here (FREE_CREDITS is not set): there is nothing to grant."
        )


async def test_an_operator_refunds_a_payment_once(world: World) -> None:
    tg = world.tg
    async with world.bot(**CREDITS_ON):
        charge_id, _ = await pay(
            world, await invoice_for(world, await buy_menu(world, USER), "⭐ 50 → 100 credits")
        )
        assert await reply(world, OPERATOR, f"/refund {charge_id}") == (
            f"↩️ Refunded: 50 ⭐ back to user {USER}, 100 credits taken back; they have "
            "3 credits now."
        )
        [refund] = tg.refunds
        assert (refund.user_id, refund.telegram_payment_charge_id) == (USER, charge_id)
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 3\n")

        again = await reply(world, OPERATOR, f"/refund {charge_id} force")
        assert again.startswith(f"The payment {charge_id} was already refunded on ")
        assert again.endswith(" UTC.")
        assert len(tg.refunds) == 1

        assert await reply(world, OPERATOR, "/refund stxNoSuchCharge") == (
            "No payment has the ID “stxNoSuchCharge”; nothing was refunded."
        )
        usage = await reply(world, OPERATOR, "/refund")
        assert usage.startswith("Send /refund <payment ID>")
        assert await reply(world, OPERATOR, f"/refund {charge_id} now") == usage


async def test_a_refund_of_spent_credits_is_refused_unless_forced(world: World) -> None:
    tg = world.tg
    async with world.bot(**{**CREDITS_ON, "model_costs": "arta/*=10"}):
        charge_id, _ = await pay(
            world, await invoice_for(world, await buy_menu(world, USER), "⭐ 50 → 100 credits")
        )
        imagine = tg.send_text(USER, "/imagine a fox")
        await world.photos_for(USER, imagine, 1)
        balance = await reply(world, USER, "/balance")
        assert balance.startswith("💰 Your credits: 93\n"), balance  # 3 free and 7 bought spent

        assert await reply(world, OPERATOR, f"/refund {charge_id}") == (
            f"Not refunded: that payment brought 100 credits and user {USER} has 93 bought "
            "credits left, so some were spent. To give the Stars back anyway and take what is "
            f"left (down to 0): /refund {charge_id} force"
        )
        assert tg.refunds == []
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 93\n")

        forced = await reply(world, OPERATOR, f"/refund {charge_id} force")
        assert forced.startswith("↩️ Refunded: 50 ⭐ back to user")
        assert forced.endswith("they have 0 credits now.")
        assert len(tg.refunds) == 1


async def test_when_telegram_refuses_a_refund_nothing_changes(world: World) -> None:
    tg = world.tg
    async with world.bot(**CREDITS_ON):
        charge_id, _ = await pay(
            world, await invoice_for(world, await buy_menu(world, USER), "⭐ 50 → 100 credits")
        )
        tg.fail_next(
            "refundStarPayment", error_code=400, description="Bad Request: CHARGE_NOT_FOUND"
        )
        refused = await reply(world, OPERATOR, f"/refund {charge_id}")
        assert refused.startswith("Telegram refused the refund (")
        assert "charge_not_found" in refused.lower() and refused.endswith("; nothing changed.")
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 103\n")

        # Telegram gave the Stars back, but the bot never heard (a crash, a timeout): the
        # next /refund takes the credits and says so.
        tg.payment(charge_id).refunded = True
        done = await reply(world, OPERATOR, f"/refund {charge_id}")
        assert done.endswith("\n(Telegram had already given the Stars back.)")
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 3\n")


async def test_grant_and_refund_are_for_operators_only(world: World) -> None:
    tg = world.tg
    tg.add_chat(GROUP, chat_type="supergroup")
    async with world.bot(**CREDITS_ON):
        charge_id, _ = await pay(
            world, await invoice_for(world, await buy_menu(world, USER), "⭐ 50 → 100 credits")
        )
        assert await reply(world, USER, f"/grant {USER} 1000") == (
            "Sorry, /grant is for the bot's operators only."
        )
        assert await reply(world, USER, f"/refund {charge_id}") == (
            "Sorry, /refund is for the bot's operators only."
        )
        assert await reply(world, GROUP, f"/grant {OTHER} 5", user_id=OTHER) == (
            "Sorry, /grant is for the bot's operators only."
        )
        assert tg.refunds == []
        assert (await reply(world, USER, "/balance")).startswith("💰 Your credits: 103\n")
        assert (await reply(world, OTHER, "/balance")).startswith("💰 Your credits: 3\n")
