"""The points mall: orders, refusals that change nothing, cancellation, and the race
of 20 members for 5 units on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from loyalcode.errors import LoyalcodeError
from loyalcode.loyalty import members
from loyalcode.loyalty.gifts import add_gift, cancel_order, redeem_gift
from loyalcode.store.db import make_engine
from tests.loyal import T0, Loyal, phone


def _gift(loyal: Loyal, sku: str = "MUG", **kw: Any) -> Any:
    params = {"name": "品牌马克杯", "points": 30, "stock": 5, **kw}
    with loyal.tx() as conn:
        return add_gift(conn, sku=sku, now=T0, **params)


def _ready(loyal: Loyal, i: int, codes: int) -> int:
    """A member with a phone, a complete profile and ``codes`` * 10 + 100 points."""
    m = loyal.member(phone(i))
    loyal.complete(m)
    if codes:
        loyal.earn(phone(i), codes)
    return m


def _snapshot(loyal: Loyal) -> tuple[Any, ...]:
    return (
        loyal.rows("SELECT id, balance FROM members ORDER BY id"),
        loyal.rows("SELECT id, stock FROM gifts ORDER BY id"),
        loyal.scalar("SELECT count(*) FROM ledger"),
        loyal.scalar("SELECT count(*) FROM gift_orders"),
        loyal.rows("SELECT gift_id, member_id, quantity FROM gift_claims ORDER BY 1, 2"),
        loyal.scalar("SELECT count(*) FROM events"),
    )


def test_redeem_a_gift(loyal: Loyal) -> None:
    m = _ready(loyal, 1, 2)  # 120 points
    gift = _gift(loyal)
    with loyal.tx() as conn:
        r = redeem_gift(conn, m, "MUG", loyal.settings, T0, quantity=2)
    assert (r.points, r.balance, r.stock, r.quantity) == (60, 60, 3, 2)
    assert loyal.rows("SELECT gift_id, member_id, quantity, points, status FROM gift_orders") == [
        (gift.id, m, 2, 60, "placed")
    ]
    (entry,) = loyal.rows("SELECT delta, kind, reason FROM ledger WHERE kind = 'gift'")
    assert entry == (-60, "gift", f"gift order {r.order}: 2 x MUG")
    (payload,) = loyal.events("gift_redeemed")
    assert payload == {
        "member": m, "balance": 60, "tier": "普卡", "points": 60,
        "order": r.order, "gift": {"id": gift.id, "sku": "MUG", "name": "品牌马克杯", "quantity": 2},
    }
    loyal.check_ledger()


def test_cancel_refunds_points_and_stock(loyal: Loyal) -> None:
    m = _ready(loyal, 2, 0)  # 100 points
    _gift(loyal, per_member_limit=2)
    with loyal.tx() as conn:
        order = redeem_gift(conn, m, "MUG", loyal.settings, T0, quantity=2).order
    assert loyal.balance(m) == 40
    with loyal.tx() as conn:
        c = cancel_order(conn, order, loyal.settings, T0, reason="out of delivery area")
    assert (c.points, c.balance, c.stock, c.quantity) == (60, 100, 5, 2)
    assert loyal.scalar("SELECT status FROM gift_orders WHERE id = :o", o=order) == "cancelled"
    refund = loyal.rows("SELECT delta, kind, reason FROM ledger WHERE kind = 'gift_refund'")
    assert refund == [(60, "gift_refund",
                       f"gift order {order} cancelled: 2 x MUG refunded (out of delivery area)")]
    assert loyal.rows("SELECT order_id FROM ledger_refs WHERE kind IN ('gift', 'gift_refund')") == [
        (order,), (order,)
    ]
    assert loyal.scalar("SELECT quantity FROM gift_claims") == 0  # the limit is free again
    assert loyal.events("gift_cancelled")[0]["balance"] == 100
    with loyal.tx() as conn:
        redeem_gift(conn, m, "MUG", loyal.settings, T0, quantity=2)
    loyal.check_ledger()


@pytest.mark.parametrize(
    "case",
    ["phone_required", "profile_incomplete", "insufficient_points", "out_of_stock",
     "limit_reached", "limit_reached_in_one", "gift_not_found", "gift_inactive_window",
     "gift_inactive_future", "invalid_quantity"],
)
def test_refusals_change_nothing(loyal: Loyal, case: str) -> None:
    ready = _ready(loyal, 3, 5)  # 150 points
    _gift(loyal, "MUG", stock=1)
    _gift(loyal, "BAG", stock=10, per_member_limit=2)
    _gift(loyal, "OLD", active_until=T0 - dt.timedelta(days=1))
    _gift(loyal, "NEW", active_from=T0 + dt.timedelta(days=1))
    _gift(loyal, "GOLD", points=10_000)
    with loyal.tx() as conn:
        redeem_gift(conn, ready, "MUG", loyal.settings, T0)  # stock now 0
        redeem_gift(conn, ready, "BAG", loyal.settings, T0, quantity=2)
        bare = members.bind(conn, now=T0, identities={"openid": "o-3"}).member
        no_profile = members.bind(conn, now=T0, phone=phone(4)).member
    who, gift, qty = {
        "phone_required": (bare, "BAG", 1),
        "profile_incomplete": (no_profile, "BAG", 1),
        "insufficient_points": (ready, "GOLD", 1),
        "out_of_stock": (ready, "MUG", 1),
        "limit_reached": (ready, "BAG", 1),
        "limit_reached_in_one": (ready, "BAG", 3),
        "gift_not_found": (ready, "NOPE", 1),
        "gift_inactive_window": (ready, "OLD", 1),
        "gift_inactive_future": (ready, "NEW", 1),
        "invalid_quantity": (ready, "BAG", 0),
    }[case]
    before = _snapshot(loyal)
    with pytest.raises(LoyalcodeError) as err, loyal.tx() as conn:
        redeem_gift(conn, who, gift, loyal.settings, T0, quantity=qty)
    assert err.value.code == case.replace("_in_one", "").replace("_window", "").replace("_future", "")
    assert _snapshot(loyal) == before


def test_cancel_refusals(loyal: Loyal) -> None:
    m = _ready(loyal, 5, 0)
    _gift(loyal)
    with loyal.tx() as conn:
        order = redeem_gift(conn, m, "MUG", loyal.settings, T0).order
        cancel_order(conn, order, loyal.settings, T0)
    before = _snapshot(loyal)
    for order_id, code in ((order, "already_cancelled"), (order + 99, "order_not_found")):
        with pytest.raises(LoyalcodeError) as err, loyal.tx() as conn:
            cancel_order(conn, order_id, loyal.settings, T0)
        assert err.value.code == code
    assert _snapshot(loyal) == before
    with pytest.raises(LoyalcodeError) as err, loyal.tx() as conn:
        add_gift(conn, sku="MUG", name="again", points=1, stock=1, now=T0)
    assert err.value.code == "gift_exists"


def test_gift_cli(loyal: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    _ready(loyal, 6, 1)  # 110 points
    r = cli("gift", "add", "TOTE", "--name", "帆布袋", "--points", "50", "--stock", "3",
            "--limit", "1", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["sku"] == "TOTE" and r.json()["per_member_limit"] == 1
    r = cli("gift", "list", "--available", "--json")
    assert [g["sku"] for g in r.json()] == ["TOTE"]
    r = cli("gift", "redeem", "TOTE", "--phone", phone(6), "--json")
    assert r.exit_code == 0, r.stderr
    order = r.json()["order"]
    assert r.json()["balance"] == 60 and r.json()["stock"] == 2
    r = cli("gift", "redeem", "TOTE", "--phone", phone(6), "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "limit_reached"
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error [limit_reached]")
    r = cli("gift", "cancel", str(order), "--json")
    assert r.exit_code == 0 and r.json()["balance"] == 110
    r = cli("gift", "cancel", str(order))
    assert r.exit_code == 1 and r.stderr.startswith("error [already_cancelled]")
    r = cli("gift", "add", "BAD", "--name", "x", "--points", "0", "--stock", "1")
    assert r.exit_code == 1 and r.stderr.startswith("error [invalid_input]")
    r = cli("gift", "add", "WIN", "--name", "x", "--points", "1", "--stock", "1", "--from", "2025-13-01")
    assert r.exit_code == 1 and r.stderr.startswith("error [invalid_date]")


def _race(loyal: Loyal, attempts: list[tuple[int, int]], gift: str) -> list[str]:
    """Each (member, quantity) orders in its own thread and connection at once (on
    PostgreSQL: 20 server sessions, the rows' locks decide)."""
    engine = make_engine(loyal.shop.ctx.url, pool_size=len(attempts) + 2)
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []
    lock = threading.Lock()

    def go(member: int, quantity: int) -> None:
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
                conn.rollback()
                barrier.wait(30)
                with conn.begin():
                    redeem_gift(conn, member, gift, loyal.settings, T0, quantity=quantity)
            outcome = "ok"
        except LoyalcodeError as err:
            outcome = err.code
        except BaseException as exc:  # reported by the assertion below
            outcome = f"crash: {type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=go, args=a) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    engine.dispose()
    return outcomes


def test_twenty_members_race_for_five_units(loyal: Loyal, db_url: str) -> None:
    _gift(loyal, "LIMITED", points=100, stock=5, per_member_limit=1)
    racers = [_ready(loyal, 100 + i, 0) for i in range(20)]  # 100 points each: one unit
    outcomes = _race(loyal, [(m, 1) for m in racers], "LIMITED")
    assert sorted(outcomes) == ["ok"] * 5 + ["out_of_stock"] * 15, outcomes
    assert loyal.scalar("SELECT count(*) FROM gift_orders") == 5
    assert loyal.scalar("SELECT stock FROM gifts") == 0
    assert loyal.scalar("SELECT count(*) FROM members WHERE balance = 0") == 5
    loyal.check_ledger()


def test_one_member_racing_itself_never_goes_below_zero(loyal: Loyal, db_url: str) -> None:
    _gift(loyal, "SAMPLE", points=40, stock=100)
    m = _ready(loyal, 200, 2)  # 120 points: three units
    outcomes = _race(loyal, [(m, 1)] * 10, "SAMPLE")
    assert sorted(outcomes) == ["insufficient_points"] * 7 + ["ok"] * 3, outcomes
    assert loyal.balance(m) == 0 and loyal.scalar("SELECT stock FROM gifts") == 97
    loyal.check_ledger()
