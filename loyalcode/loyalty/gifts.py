"""The points mall: gifts, orders and cancellations.

:func:`redeem_gift` does everything in the caller's transaction, and the database is
the guard against every race (no read of a balance or a stock before a write):

1. ``UPDATE members SET balance = balance - cost WHERE balance >= cost``  → ``insufficient_points``
2. ``UPDATE gifts SET stock = stock - n WHERE stock >= n``               → ``out_of_stock``
3. per-member limit: ``INSERT ... ON CONFLICT DO UPDATE ... WHERE quantity + n <= limit``
                                                                          → ``limit_reached``
4. the order row, the ``gift`` ledger entry and a ``gift_redeemed`` event.

Rows are always locked in that order (member, gift, claim), also by
:func:`cancel_order` (member, order, gift, claim) and by a merge (members, then their
orders and claims), so concurrent orders, cancellations and merges cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, text

from loyalcode.codegen.errors import InvalidQuantity
from loyalcode.errors import InvalidInput
from loyalcode.events.outbox import EventRef
from loyalcode.loyalty import points
from loyalcode.loyalty.errors import (
    AlreadyCancelled,
    GiftExists,
    GiftInactive,
    GiftNotFound,
    InsufficientPoints,
    LimitReached,
    OrderNotFound,
    OutOfStock,
    PhoneRequired,
    ProfileIncomplete,
)
from loyalcode.loyalty.lock import MAX_ID, lock_member
from loyalcode.loyalty.moments import emit_moment
from loyalcode.loyalty.profile import profile_of
from loyalcode.loyalty.settings import LoyaltySettings
from loyalcode.store.inputs import check_text, preview
from loyalcode.store.timeutil import UtcDateTime, from_db

_TS = UtcDateTime()
MAX_QUANTITY = 1000
MAX_POINTS = 10_000_000
MAX_STOCK = 100_000_000


@dataclass(frozen=True, slots=True)
class GiftInfo:
    """A gift of the mall."""

    id: int
    sku: str
    name: str
    points: int
    stock: int
    per_member_limit: int | None
    active_from: dt.datetime | None
    active_until: dt.datetime | None
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sku": self.sku,
            "name": self.name,
            "points": self.points,
            "stock": self.stock,
            "per_member_limit": self.per_member_limit,
            "active_from": self.active_from.isoformat() if self.active_from else None,
            "active_until": self.active_until.isoformat() if self.active_until else None,
            "active": self.active,
        }


_GIFT_COLUMNS = (
    "SELECT id, sku, name, points, stock, per_member_limit, active_from, active_until, active "
    "FROM gifts "
)


def _gift(row: Any) -> GiftInfo:
    return GiftInfo(
        id=int(row.id), sku=row.sku, name=row.name, points=int(row.points), stock=int(row.stock),
        per_member_limit=row.per_member_limit, active_from=from_db(row.active_from),
        active_until=from_db(row.active_until), active=bool(row.active),
    )


def _typed(sql: str) -> Any:
    return text(sql).columns(active_from=_TS, active_until=_TS)


def _check_whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        if name == "quantity":
            raise InvalidQuantity(value=value, maximum=high)
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}, got {value!r}.")
    return value


_INSERT_GIFT = text(
    "INSERT INTO gifts (sku, name, points, stock, per_member_limit, active_from, active_until, "
    "active, created_at) VALUES (:sku, :name, :points, :stock, :limit, :active_from, "
    ":active_until, :active, :now) ON CONFLICT (sku) DO NOTHING RETURNING id"
).bindparams(
    bindparam("now", type_=_TS), bindparam("active_from", type_=_TS),
    bindparam("active_until", type_=_TS),
)


def add_gift(
    conn: Connection,
    *,
    sku: str,
    name: str,
    points: int,
    stock: int,
    now: dt.datetime,
    per_member_limit: int | None = None,
    active_from: dt.datetime | None = None,
    active_until: dt.datetime | None = None,
    active: bool = True,
) -> GiftInfo:
    """Add a gift; :class:`GiftExists` for a SKU in use (the unique SKU decides)."""
    sku_v = check_text("sku", sku, max_length=256).strip()
    if not sku_v or len(sku_v) > 64 or not sku_v.isprintable():
        raise InvalidInput("A gift SKU is 1 to 64 printable characters.")
    name_v = check_text("name", name, max_length=1024).strip()
    if not name_v or len(name_v) > 200 or not name_v.isprintable():
        raise InvalidInput("A gift name is 1 to 200 printable characters.")
    _check_whole("points", points, 1, MAX_POINTS)
    _check_whole("stock", stock, 0, MAX_STOCK)
    if per_member_limit is not None:
        _check_whole("per_member_limit", per_member_limit, 1, MAX_STOCK)
    if active_from and active_until and active_from >= active_until:
        raise InvalidInput("A gift's active window must end after it starts.")
    gift_id = conn.execute(
        _INSERT_GIFT,
        {"sku": sku_v, "name": name_v, "points": points, "stock": stock,
         "limit": per_member_limit, "active_from": active_from, "active_until": active_until,
         "active": active, "now": now},
    ).scalar()
    if gift_id is None:
        raise GiftExists(gift=sku_v)
    return find_gift(conn, int(gift_id))


def find_gift(conn: Connection, gift: int | str) -> GiftInfo:
    """A gift by id or SKU; :class:`GiftNotFound`."""
    if isinstance(gift, bool) or not isinstance(gift, (int, str)):
        raise InvalidInput("A gift is named by its id or its SKU.", field="gift")
    if isinstance(gift, int) and not 0 < gift <= MAX_ID:
        raise GiftNotFound(gift=gift)
    if isinstance(gift, str):
        check_text("gift", gift, max_length=256)
    if isinstance(gift, int) or (isinstance(gift, str) and gift.isdecimal() and len(gift) < 10):
        row = conn.execute(_typed(_GIFT_COLUMNS + "WHERE id = :id"), {"id": int(gift)}).first()
        if row is not None or isinstance(gift, int):
            if row is None:
                raise GiftNotFound(gift=gift)
            return _gift(row)
    row = conn.execute(_typed(_GIFT_COLUMNS + "WHERE sku = :sku"), {"sku": str(gift)}).first()
    if row is None:
        raise GiftNotFound(gift=preview(gift))
    return _gift(row)


def list_gifts(conn: Connection, *, available_at: dt.datetime | None = None) -> list[GiftInfo]:
    """Every gift by id; only those redeemable at ``available_at`` when it is given."""
    gifts = [_gift(r) for r in conn.execute(_typed(_GIFT_COLUMNS + "ORDER BY id"))]
    if available_at is None:
        return gifts
    return [g for g in gifts if _inactive_reason(g, available_at) is None and g.stock > 0]


def _inactive_reason(gift: GiftInfo, now: dt.datetime) -> str | None:
    if not gift.active:
        return "withdrawn"
    if gift.active_from is not None and now < gift.active_from:
        return f"available from {gift.active_from.isoformat()}"
    if gift.active_until is not None and now >= gift.active_until:
        return f"ended {gift.active_until.isoformat()}"
    return None


@dataclass(frozen=True, slots=True)
class GiftOrderResult:
    """A placed order: ids, what was bought, the points paid, the balance after, the
    stock left, and the events raised (``gift_redeemed``)."""

    order: int
    member: int
    gift: int
    sku: str
    name: str
    quantity: int
    points: int
    balance: int
    stock: int
    events: tuple[EventRef, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "member": self.member,
            "gift": self.gift,
            "sku": self.sku,
            "name": self.name,
            "quantity": self.quantity,
            "points": self.points,
            "balance": self.balance,
            "stock": self.stock,
            "events": [e.to_dict() for e in self.events],
        }


_PHONE = text("SELECT phone, balance FROM members WHERE id = :member")
_TAKE_STOCK = text(
    "UPDATE gifts SET stock = stock - :quantity WHERE id = :gift AND stock >= :quantity "
    "RETURNING stock"
)
# The per-member limit's guard: the claim row grows only while it stays within the
# limit; an upsert that matches nothing returns no row (limit_reached).
_CLAIM = text(
    "INSERT INTO gift_claims (gift_id, member_id, quantity) VALUES (:gift, :member, :quantity) "
    "ON CONFLICT (gift_id, member_id) DO UPDATE SET quantity = gift_claims.quantity + :quantity "
    "WHERE gift_claims.quantity + :quantity <= :limit RETURNING quantity"
)
_INSERT_ORDER = text(
    "INSERT INTO gift_orders (gift_id, member_id, quantity, points, status, created_at) "
    "VALUES (:gift, :member, :quantity, :points, 'placed', :now) RETURNING id"
).bindparams(bindparam("now", type_=_TS))


def redeem_gift(
    conn: Connection,
    member: int,
    gift: int | str,
    settings: LoyaltySettings,
    now: dt.datetime,
    quantity: int = 1,
) -> GiftOrderResult:
    """Spend points on ``quantity`` units of a gift, in the caller's transaction.

    Refusals: ``phone_required``, ``profile_incomplete``, ``gift_not_found``,
    ``gift_inactive``, ``invalid_quantity``, ``insufficient_points``, ``out_of_stock``,
    ``limit_reached``; a refusal changes nothing once the caller rolls back.
    """
    member = lock_member(conn, member)  # the first lock (a concurrent merge: its survivor)
    phone = conn.execute(_PHONE, {"member": member}).one()[0]
    if phone is None:
        raise PhoneRequired()
    profile = profile_of(conn, member, settings)
    if not profile.complete:
        raise ProfileIncomplete(missing=", ".join(profile.missing))
    info = find_gift(conn, gift)
    reason = _inactive_reason(info, now)
    if reason is not None:
        raise GiftInactive(gift=info.sku, reason=reason)
    _check_whole("quantity", quantity, 1, MAX_QUANTITY)
    if info.per_member_limit is not None and quantity > info.per_member_limit:
        raise LimitReached(gift=info.sku, limit=info.per_member_limit)
    cost = info.points * quantity

    balance_after = points.take_balance(conn, member, cost)  # guard 1, locks the member
    if balance_after is None:
        raise InsufficientPoints(needed=cost, balance=points.balance_of(conn, member))
    stock = conn.execute(_TAKE_STOCK, {"quantity": quantity, "gift": info.id}).scalar()  # guard 2
    if stock is None:
        raise OutOfStock(gift=info.sku)
    if info.per_member_limit is not None:  # guard 3
        held = conn.execute(
            _CLAIM,
            {"gift": info.id, "member": member, "quantity": quantity,
             "limit": info.per_member_limit},
        ).scalar()
        if held is None:
            raise LimitReached(gift=info.sku, limit=info.per_member_limit)
    order = int(
        conn.execute(
            _INSERT_ORDER,
            {"gift": info.id, "member": member, "quantity": quantity, "points": cost, "now": now},
        ).scalar_one()
    )
    points.append(
        conn, member, -cost, "gift", f"gift order {order}: {quantity} x {info.sku}", now,
        order_id=order,
    )
    event = emit_moment(
        conn, "gift_redeemed", member, settings, now,
        points=cost, order=order,
        gift={"id": info.id, "sku": info.sku, "name": info.name, "quantity": quantity},
    )
    return GiftOrderResult(
        order=order, member=member, gift=info.id, sku=info.sku, name=info.name,
        quantity=quantity, points=cost, balance=int(balance_after), stock=int(stock),
        events=(event,),
    )


@dataclass(frozen=True, slots=True)
class CancelResult:
    """A cancelled order: the points and units given back, the balance after."""

    order: int
    member: int
    gift: int
    sku: str
    quantity: int
    points: int
    balance: int
    stock: int
    events: tuple[EventRef, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "member": self.member,
            "gift": self.gift,
            "sku": self.sku,
            "quantity": self.quantity,
            "points": self.points,
            "balance": self.balance,
            "stock": self.stock,
            "events": [e.to_dict() for e in self.events],
        }


# Only the transaction that moves the order from placed to cancelled refunds it.
_CANCEL = text(
    "UPDATE gift_orders SET status = 'cancelled', cancelled_at = :now "
    "WHERE id = :order AND status = 'placed' RETURNING member_id, gift_id, quantity, points"
).bindparams(bindparam("now", type_=_TS))
_ORDER_MEMBER = text("SELECT member_id FROM gift_orders WHERE id = :order")
_RESTOCK = text("UPDATE gifts SET stock = stock + :quantity WHERE id = :gift RETURNING stock, sku, name")
_UNCLAIM = text(
    "UPDATE gift_claims SET quantity = quantity - :quantity "
    "WHERE gift_id = :gift AND member_id = :member AND quantity >= :quantity"
)


def cancel_order(
    conn: Connection,
    order: int,
    settings: LoyaltySettings,
    now: dt.datetime,
    reason: str | None = None,
) -> CancelResult:
    """Cancel a placed order: refund its points (ledger kind ``gift_refund``, which puts
    them back in the lots they came from) and its stock; ``gift_cancelled`` event.
    ``order_not_found``, ``already_cancelled``."""
    _check_whole("order", order, 1, MAX_ID)
    if reason is not None:
        check_text("reason", reason, max_length=1024)
    owner = conn.execute(_ORDER_MEMBER, {"order": order}).scalar()
    if owner is None:
        raise OrderNotFound(order=order)
    # The member's row before the order's, as orders and merges lock them; holding it,
    # no merge can move the order to anyone else before it is cancelled.
    member = lock_member(conn, int(owner))
    row = conn.execute(_CANCEL, {"order": order, "now": now}).first()
    if row is None:
        raise AlreadyCancelled(order=order)
    refund = int(row.points)
    balance = points.add_balance(conn, member, refund)
    stock, sku, name = conn.execute(_RESTOCK, {"quantity": row.quantity, "gift": row.gift_id}).one()
    conn.execute(_UNCLAIM, {"quantity": row.quantity, "gift": row.gift_id, "member": member})
    why = f"gift order {order} cancelled: {row.quantity} x {sku} refunded"
    if reason:
        why += f" ({reason.strip()[:80]})"
    points.append(conn, member, refund, "gift_refund", why, now, order_id=order)
    event = emit_moment(
        conn, "gift_cancelled", member, settings, now,
        points=refund, order=order,
        gift={"id": int(row.gift_id), "sku": sku, "name": name, "quantity": int(row.quantity)},
    )
    return CancelResult(
        order=order, member=member, gift=int(row.gift_id), sku=sku, quantity=int(row.quantity),
        points=refund, balance=balance, stock=int(stock), events=(event,),
    )


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """A member's gift order: what, how many, the points, ``placed`` or ``cancelled``."""

    id: int
    member: int
    gift: int
    sku: str
    name: str
    quantity: int
    points: int
    status: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "member": self.member, "gift": self.gift, "sku": self.sku,
            "name": self.name, "quantity": self.quantity, "points": self.points,
            "status": self.status, "created_at": self.created_at.isoformat(),
            "cancelled_at": self.cancelled_at.isoformat() if self.cancelled_at else None,
        }


_ORDERS = text(
    "SELECT o.id, o.member_id, o.gift_id, g.sku, g.name, o.quantity, o.points, o.status, "
    "o.created_at, o.cancelled_at FROM gift_orders o JOIN gifts g ON g.id = o.gift_id "
    "WHERE o.member_id = :member AND o.id > :after ORDER BY o.id LIMIT :limit"
).columns(created_at=_TS, cancelled_at=_TS)
MAX_ORDERS = 1000


def orders_of(conn: Connection, member: int, *, after: int = 0,
              limit: int = 100) -> tuple[int, tuple[OrderInfo, ...]]:
    """The surviving member's id (merges followed) and its gift orders with ids above
    ``after``, oldest first, at most ``limit`` (a merge moved the absorbed member's
    orders to it)."""
    from loyalcode.loyalty.lock import resolve_id

    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise InvalidInput(f"after must be a whole number >= 0, got {after!r}.")
    _check_whole("limit", limit, 1, MAX_ORDERS)
    member = resolve_id(conn, member)
    rows = conn.execute(_ORDERS, {"member": member, "after": after, "limit": limit})
    return member, tuple(
        OrderInfo(id=int(r.id), member=int(r.member_id), gift=int(r.gift_id), sku=r.sku,
                  name=r.name, quantity=int(r.quantity), points=int(r.points), status=r.status,
                  created_at=from_db(r.created_at),  # type: ignore[arg-type]
                  cancelled_at=from_db(r.cancelled_at))
        for r in rows
    )
