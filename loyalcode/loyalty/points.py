"""Points the loyalty programme moves: ledger entries with their references, and the
lots (earnings) that FIFO spending and expiry work on.

Every movement is a ledger entry and a change of ``members.balance`` in the caller's
transaction, so the balance stays the sum of the ledger. Debits are guarded by the
database: ``UPDATE members SET balance = balance - n WHERE balance >= n`` either takes
the points or changes nothing (never a read of the balance then a write), and the
member row it locks serialises everything else that spends the same member's points.

Lots are not stored: they are replayed from the member's ledger in time order, which
makes them deterministic and needs nothing from the redemption hot path (an ``earn``
entry is a lot as it stands):

* a positive entry is a lot of ``delta`` points, expiring ``expiry_months`` after the
  local date it was earned; a ``gift_refund`` instead puts back the points its order's
  debit took from its lots, so refunded points keep their original expiry;
* an ``expire`` entry empties the lot it names (``ledger_refs.lot_id``);
* any other negative entry consumes the oldest lots first (FIFO).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, text

from loyalcode.store.timeutil import UtcDateTime, from_db

_TS = UtcDateTime()

_TAKE = text(
    "UPDATE members SET balance = balance - :amount "
    "WHERE id = :member AND balance >= :amount RETURNING balance"
)
_ADD = text("UPDATE members SET balance = balance + :amount WHERE id = :member RETURNING balance")
_BALANCE = text("SELECT balance FROM members WHERE id = :member")
_INSERT_LEDGER = text(
    "INSERT INTO ledger (member_id, delta, kind, reason, redemption_serial, created_at) "
    "VALUES (:member, :delta, :kind, :reason, NULL, :now) RETURNING id"
).bindparams(bindparam("now", type_=_TS), bindparam("delta", type_=BigInteger))
_INSERT_REF = text(
    "INSERT INTO ledger_refs (ledger_id, kind, delta, created_at, order_id, lot_id) "
    "VALUES (:ledger_id, :kind, :delta, :now, :order_id, :lot_id)"
).bindparams(bindparam("now", type_=_TS))


def take_balance(conn: Connection, member: int, amount: int) -> int | None:
    """Take ``amount`` points off the balance if it has them: the new balance, or
    ``None`` (nothing changed). The conditional UPDATE is the guard against a balance
    below zero under concurrent spending; it also locks the member row."""
    return conn.execute(_TAKE, {"amount": amount, "member": member}).scalar()


def add_balance(conn: Connection, member: int, amount: int) -> int:
    """Add ``amount`` points to the balance; the new balance."""
    return int(conn.execute(_ADD, {"amount": amount, "member": member}).scalar_one())


def balance_of(conn: Connection, member: int) -> int:
    """The member's balance."""
    return int(conn.execute(_BALANCE, {"member": member}).scalar_one())


def append(
    conn: Connection,
    member: int,
    delta: int,
    kind: str,
    reason: str,
    now: dt.datetime,
    *,
    order_id: int | None = None,
    lot_id: int | None = None,
) -> int:
    """Append one ledger entry (and its reference row); its id. The caller has moved
    the balance by ``delta`` in the same transaction."""
    ledger_id = int(
        conn.execute(
            _INSERT_LEDGER,
            {"member": member, "delta": delta, "kind": kind, "reason": reason[:200], "now": now},
        ).scalar_one()
    )
    conn.execute(
        _INSERT_REF,
        {"ledger_id": ledger_id, "kind": kind, "delta": delta, "now": now,
         "order_id": order_id, "lot_id": lot_id},
    )
    return ledger_id


def credit(
    conn: Connection, member: int, amount: int, kind: str, reason: str, now: dt.datetime,
    *, order_id: int | None = None,
) -> tuple[int, int]:
    """Credit points: ``(ledger id, new balance)``."""
    balance = add_balance(conn, member, amount)
    return append(conn, member, amount, kind, reason, now, order_id=order_id), balance


# --- lots -------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole calendar months (the 31st becomes the month's last day).

    >>> add_months(dt.date(2025, 1, 31), 1), add_months(dt.date(2024, 2, 29), 12)
    (datetime.date(2025, 2, 28), datetime.date(2025, 2, 28))
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Lot:
    """Points earned by one ledger entry, what is left of them, and when they expire
    (``expires_on``: the lot is expired by a run as of that date; ``None``: never)."""

    ledger_id: int
    kind: str
    earned_at: dt.datetime
    amount: int
    remaining: int
    expires_on: dt.date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ledger_id": self.ledger_id,
            "kind": self.kind,
            "earned_at": self.earned_at.isoformat(),
            "amount": self.amount,
            "remaining": self.remaining,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
        }


_HISTORY = text(
    "SELECT l.id, l.delta, l.kind, l.created_at, r.order_id, r.lot_id FROM ledger l "
    "LEFT JOIN ledger_refs r ON r.ledger_id = l.id WHERE l.member_id = :member "
    "ORDER BY l.created_at, l.id"
).columns(created_at=_TS)


def lots(
    conn: Connection, member: int, *, expiry_months: int, tz: dt.tzinfo
) -> list[Lot]:
    """The member's lots in the order they are spent (oldest first), replayed from the
    ledger; the remainders sum to the balance."""
    rows = conn.execute(_HISTORY, {"member": member}).all()
    order: list[int] = []
    info: dict[int, tuple[str, dt.datetime, int]] = {}
    left: dict[int, int] = {}
    taken_by_order: dict[int, list[tuple[int, int]]] = defaultdict(list)
    debt = 0

    def new_lot(ledger_id: int, kind: str, at: dt.datetime, amount: int) -> None:
        nonlocal debt
        order.append(ledger_id)
        info[ledger_id] = (kind, at, amount)
        paid = min(debt, amount)  # points spent before they existed (merges): settle first
        debt -= paid
        left[ledger_id] = amount - paid

    def consume(amount: int, order_id: int | None) -> None:
        nonlocal debt
        for lot_id in order:
            if amount == 0:
                break
            have = left[lot_id]
            if have:
                used = min(have, amount)
                left[lot_id] = have - used
                amount -= used
                if order_id is not None:
                    taken_by_order[order_id].append((lot_id, used))
        debt += amount

    for r in rows:
        delta, at = int(r.delta), from_db(r.created_at)
        assert at is not None
        if delta > 0:
            if r.kind == "gift_refund" and r.order_id in taken_by_order:
                for lot_id, used in taken_by_order.pop(r.order_id):
                    back = min(used, delta)
                    left[lot_id] += back
                    delta -= back
            if delta > 0:
                new_lot(int(r.id), r.kind, at, delta)
        elif delta < 0:
            amount = -delta
            if r.lot_id is not None and r.lot_id in left:
                used = min(left[r.lot_id], amount)
                left[r.lot_id] -= used
                amount -= used
            if amount:
                consume(amount, r.order_id)

    out = []
    for lot_id in order:
        kind, at, amount = info[lot_id]
        expires = (
            add_months(at.astimezone(tz).date(), expiry_months) if expiry_months > 0 else None
        )
        out.append(Lot(lot_id, kind, at, amount, left[lot_id], expires))
    return out
