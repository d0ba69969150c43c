"""Credits: each user's account, what running jobs hold, what was spent on each provider per
UTC day, Telegram Stars payments and admins' grants.

Amounts are whole credits. Every change is one transaction, so a crash leaves either all of it
or none; a hold, a payment and a refund are keyed, so doing one twice changes nothing more.
The caller names the current period ('YYYY-MM-DD' or 'YYYY-MM') and day: an account whose
stored period is another one has used none of its free credits yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.records import CreditAccount, PaymentRecord, Settlement
from bot.storage.repository import Repository
from bot.storage.sql import Row, Sql


class TooFewCredits(Exception):
    """A hold was refused: the account (as it is now) has fewer credits than asked for."""

    def __init__(self, account: CreditAccount, free_left: int) -> None:
        super().__init__(f"user {account.user_id} has {free_left + account.bought} credits")
        self.account = account
        self.free_left = free_left


class UnknownCharge(Exception):
    """No payment has that Telegram charge id."""

    def __init__(self, charge_id: str) -> None:
        super().__init__(f"no payment has the charge id {charge_id}")
        self.charge_id = charge_id


class AlreadyRefunded(Exception):
    """The payment was refunded before."""

    def __init__(self, payment: PaymentRecord) -> None:
        super().__init__(f"the payment {payment.charge_id} was already refunded")
        self.payment = payment


class AlreadySpent(Exception):
    """The user has fewer bought credits left than the payment brought (``bought``)."""

    def __init__(self, payment: PaymentRecord, bought: int) -> None:
        super().__init__(
            f"the payment {payment.charge_id} brought {payment.credits} credits and the user "
            f"has {bought} bought credits left"
        )
        self.payment = payment
        self.bought = bought


class CreditsRepository(Repository):
    """Accounts, holds, spends, payments and grants (see the module's docstring)."""

    async def credit_account(self, user_id: int, period: str) -> CreditAccount:
        """The user's account in ``period`` (a user never seen: nothing used, nothing bought)."""

        async def read(db: Sql) -> CreditAccount:
            row = await db.fetchrow(
                "SELECT period, free_used, bought FROM accounts WHERE user_id = ?", user_id
            )
            if row is None:
                return CreditAccount(user_id, 0, 0)
            free_used = row["free_used"] if row["period"] == period else 0
            return CreditAccount(user_id, free_used, row["bought"])

        return await self._read(read)

    async def hold_credits(
        self,
        key: str,
        user_id: int,
        provider: str,
        amount: int,
        *,
        free_per_period: int,
        period: str,
        now: float,
    ) -> None:
        """Holds ``amount`` credits of the user under ``key``: free ones first, then bought.
        Nothing changes when ``key`` is already held. Raises :class:`TooFewCredits` (nothing
        held) when the user has fewer."""

        async def write(db: Sql) -> None:
            account = await self._account_for_update(db, user_id, period)
            if await self._hold(db, key) is not None:
                return
            free_left = max(0, free_per_period - account.free_used)
            if free_left + account.bought < amount:
                raise TooFewCredits(account, free_left)
            free_part = min(amount, free_left)
            bought_part = amount - free_part
            await db.execute(
                "UPDATE accounts SET free_used = free_used + ?, bought = bought - ?"
                " WHERE user_id = ?",
                free_part,
                bought_part,
                user_id,
            )
            await db.execute(
                "INSERT INTO holds (key, user_id, provider, amount, free_part, bought_part,"
                " period, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                key,
                user_id,
                provider,
                amount,
                free_part,
                bought_part,
                period,
                now,
            )

        await self._write(write)

    async def held_credits(self, key: str) -> int:
        """The credits held under ``key`` (0 when nothing is)."""

        async def read(db: Sql) -> int:
            row = await db.fetchrow("SELECT amount FROM holds WHERE key = ?", key)
            return int(row[0]) if row else 0

        return await self._read(read)

    async def settle_hold(
        self,
        key: str,
        charge: int | None,
        provider: str | None,
        *,
        period: str,
        day: str,
        now: float,
    ) -> Settlement | None:
        """Ends the hold under ``key``: ``charge`` credits of it (None: all; never more than
        held) are spent on ``provider`` (None: the hold's) on ``day``, the rest goes back to the
        user (bought credits first; free ones only while the hold's period is ``period``).
        None when nothing is held under ``key``."""

        async def write(db: Sql) -> Settlement | None:
            hold = await self._hold(db, key)
            if hold is None:
                return None
            charged = hold.amount if charge is None else max(0, min(charge, hold.amount))
            spent_on = provider or hold.provider
            await self._give_back(db, hold, hold.amount - charged, period)
            if charged:
                await db.execute(
                    "INSERT INTO spends (user_id, provider, amount, day, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    hold.user_id,
                    spent_on,
                    charged,
                    day,
                    now,
                )
            row = await db.fetchrow(
                "SELECT COALESCE(SUM(amount), 0) FROM spends WHERE day = ? AND provider = ?",
                day,
                spent_on,
            )
            total = int(row[0]) if row else 0
            return Settlement(hold.user_id, spent_on, charged, day, total)

        return await self._write(write)

    async def release_hold(self, key: str, *, period: str) -> int:
        """Gives everything held under ``key`` back to the user (free credits only while the
        hold's period is ``period``); the credits released, 0 when nothing was held."""

        async def write(db: Sql) -> int:
            hold = await self._hold(db, key)
            if hold is None:
                return 0
            await self._give_back(db, hold, hold.amount, period)
            return hold.amount

        return await self._write(write)

    async def spent_on(self, day: str) -> dict[str, int]:
        """The credits spent on each provider on ``day`` ('YYYY-MM-DD'), by provider name."""

        async def read(db: Sql) -> dict[str, int]:
            rows = await db.fetch(
                "SELECT provider, SUM(amount) FROM spends WHERE day = ? GROUP BY provider", day
            )
            return {str(row[0]): int(row[1]) for row in rows}

        return await self._read(read)

    async def grant_credits(
        self, user_id: int, credits: int, by_user: int, *, period: str, now: float
    ) -> CreditAccount:
        """Adds ``credits`` to the user's bought credits and records who granted them; the
        account after the grant."""

        async def write(db: Sql) -> CreditAccount:
            account = await self._account_for_update(db, user_id, period)
            await db.execute(
                "INSERT INTO grants (user_id, credits, by_user, created_at) VALUES (?, ?, ?, ?)",
                user_id,
                credits,
                by_user,
                now,
            )
            await db.execute(
                "UPDATE accounts SET bought = bought + ? WHERE user_id = ?", credits, user_id
            )
            return CreditAccount(user_id, account.free_used, account.bought + credits)

        return await self._write(write)

    async def record_payment(
        self, charge_id: str, user_id: int, stars: int, credits: int, *, period: str, now: float
    ) -> bool:
        """Records the payment and adds its credits to the user's bought ones, once per
        ``charge_id``: False (nothing changed) when that charge id is already recorded."""

        async def write(db: Sql) -> bool:
            await self._account_for_update(db, user_id, period)
            added = await db.execute(
                "INSERT INTO payments (charge_id, user_id, stars, credits, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                charge_id,
                user_id,
                stars,
                credits,
                now,
            )
            if added != 1:
                return False
            await db.execute(
                "UPDATE accounts SET bought = bought + ? WHERE user_id = ?", credits, user_id
            )
            return True

        return await self._write(write)

    async def refund_payment(self, charge_id: str, *, force: bool, now: float) -> PaymentRecord:
        """Marks the payment refunded and takes its credits back from the user's bought ones
        (with ``force``, down to 0 when some were spent); the payment as it was.

        Raises :class:`UnknownCharge`, :class:`AlreadyRefunded`, or (without ``force``)
        :class:`AlreadySpent` when the user has fewer bought credits left than it brought;
        nothing changes then."""

        async def write(db: Sql) -> PaymentRecord:
            row = await db.fetchrow(
                f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE charge_id = ?{db.lock_rows}",
                charge_id,
            )
            if row is None:
                raise UnknownCharge(charge_id)
            payment = _payment(row)
            if payment.refunded_at is not None:
                raise AlreadyRefunded(payment)
            found = await db.fetchrow(
                f"SELECT bought FROM accounts WHERE user_id = ?{db.lock_rows}", payment.user_id
            )
            bought = int(found[0]) if found else 0
            if bought < payment.credits and not force:
                raise AlreadySpent(payment, bought)
            await db.execute(
                "UPDATE accounts SET bought = CASE WHEN bought > ? THEN bought - ? ELSE 0 END"
                " WHERE user_id = ?",
                payment.credits,
                payment.credits,
                payment.user_id,
            )
            await db.execute(
                "UPDATE payments SET refunded_at = ? WHERE charge_id = ?", now, charge_id
            )
            return payment

        return await self._write(write)

    async def find_payment(self, charge_id: str) -> PaymentRecord | None:
        """The payment with this Telegram charge id, or None."""

        async def read(db: Sql) -> PaymentRecord | None:
            row = await db.fetchrow(
                f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE charge_id = ?", charge_id
            )
            return _payment(row) if row is not None else None

        return await self._read(read)

    async def list_payments(self, limit: int) -> list[PaymentRecord]:
        """The latest ``limit`` payments, newest first."""

        async def read(db: Sql) -> list[PaymentRecord]:
            rows = await db.fetch(
                f"SELECT {PAYMENT_COLUMNS} FROM payments"
                " ORDER BY created_at DESC, charge_id DESC LIMIT ?",
                limit,
            )
            return [_payment(row) for row in rows]

        return await self._read(read)

    # Inside a write's transaction

    @staticmethod
    async def _account_for_update(db: Sql, user_id: int, period: str) -> CreditAccount:
        """The user's account, created or renewed for ``period`` first, and locked until the
        transaction ends (SQLite: the insert takes the write lock; PostgreSQL: the row's)."""
        await db.execute(
            "INSERT INTO accounts (user_id, period, free_used, bought) VALUES (?, ?, 0, 0)"
            " ON CONFLICT DO NOTHING",
            user_id,
            period,
        )
        row = await db.fetchrow(
            f"SELECT period, free_used, bought FROM accounts WHERE user_id = ?{db.lock_rows}",
            user_id,
        )
        assert row is not None  # inserted above
        if row["period"] != period:
            await db.execute(
                "UPDATE accounts SET period = ?, free_used = 0 WHERE user_id = ?", period, user_id
            )
            return CreditAccount(user_id, 0, int(row["bought"]))
        assert row is not None  # inserted above
        return CreditAccount(user_id, int(row["free_used"]), int(row["bought"]))

    @staticmethod
    async def _hold(db: Sql, key: str) -> _Hold | None:
        row = await db.fetchrow(
            "SELECT key, user_id, provider, amount, bought_part, period FROM holds"
            f" WHERE key = ?{db.lock_rows}",
            key,
        )
        return _Hold(*row) if row else None

    async def _give_back(self, db: Sql, hold: _Hold, credits: int, period: str) -> None:
        """Deletes the hold and returns ``credits`` of it to its user: bought ones first, then
        free ones if the hold's period is still the current one."""
        bought_back = min(credits, hold.bought_part)
        # Renewed since the hold was made: the free credits are whole again.
        free_back = credits - bought_back if hold.period == period else 0
        await self._account_for_update(db, hold.user_id, period)
        await db.execute(
            "UPDATE accounts SET bought = bought + ?,"
            " free_used = CASE WHEN free_used > ? THEN free_used - ? ELSE 0 END"
            " WHERE user_id = ?",
            bought_back,
            free_back,
            free_back,
            hold.user_id,
        )
        await db.execute("DELETE FROM holds WHERE key = ?", hold.key)


@dataclass(frozen=True)
class _Hold:
    key: str
    user_id: int
    provider: str
    amount: int
    bought_part: int
    period: str


PAYMENT_COLUMNS = "charge_id, user_id, stars, credits, created_at, refunded_at"


def _payment(row: Row) -> PaymentRecord:
    return PaymentRecord(
        charge_id=row["charge_id"],
        user_id=row["user_id"],
        stars=row["stars"],
        credits=row["credits"],
        created_at=row["created_at"],
        refunded_at=row["refunded_at"],
    )
