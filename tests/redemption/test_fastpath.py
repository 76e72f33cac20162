"""PostgreSQL's one-statement path gives exactly what the full path gives, or nothing.

The fast path (``loyalcode/redemption/fastpath.py``) credits the common scan in one
autocommit statement; every other case must write nothing there and be left to the
full path. These tests call it directly to see which one acted.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.redemption import throttle
from tests.shop import PHONE, PHONE_E164

NOW = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def empty_db_url(pg_schema_url: str) -> str:
    """PostgreSQL only (this path is PostgreSQL's): overrides the sqlite+postgres one."""
    return pg_schema_url


def _events(shop: Any) -> list[tuple[str, dict[str, Any]]]:
    with shop.ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT type, payload FROM events ORDER BY id")).all()
        conn.rollback()
    return [(t, p if isinstance(p, dict) else json.loads(p)) for t, p in rows]


def _try(redeemer: Any, shop: Any, seq: int, **kw: Any) -> Any:
    """What the statement credited: ``(balance, event id, member, batch, sku, points,
    channel, channel region)``, or ``None`` (neither credited nor throttled)."""
    from loyalcode.codegen.codec import decode_scan

    serial = decode_scan(redeemer._keyring, shop.code(seq))[1]
    args = {"serial": serial, "phone": PHONE_E164, "openid": None, "source": None,
            "scan_region": None, "when": NOW, "today": NOW.date(), "ts": NOW.timestamp()}
    args.update(kw)
    # the throttle's keyed identities, as Redeemer.redeem passes them
    args["ids"] = throttle.keyed(redeemer._keyring, throttle.identities(
        args["phone"], args["openid"], args["source"]))
    done = redeemer._fast.try_credit(**args)
    assert done is not None and done[0] is None  # the statement ran; not throttled
    return None if done[1] is None else done[1:]


def test_common_scan_is_credited_in_one_statement_like_the_full_path(shop, redeemer) -> None:
    first = redeemer.redeem(shop.code(1), phone=PHONE, now=NOW)  # full path: creates the member
    assert first.joined
    before = shop.snapshot()
    done = _try(redeemer, shop, 2, scan_region="4401")
    assert done is not None
    balance, event_id, member, batch, sku, points, channel, channel_region = done
    assert event_id is not None
    assert (balance, member, batch, sku, points, channel, channel_region) == (
        20, first.member, shop.batch, "SERUM-50", 10, "GD-DIST", "44")
    after = shop.snapshot()
    assert after["redemptions"] == before["redemptions"] + 1
    assert after["ledger"] == before["ledger"] + 1
    assert after["balance_total"] == before["balance_total"] + 10
    shop.assert_balances_match_ledger()
    # The event payload has the same shape as the full path's.
    earned = [p for t, p in _events(shop) if t == "points_earned"]
    assert set(earned[0]) == set(earned[1])
    assert earned[1] | {"serial": earned[0]["serial"], "balance": 10} == earned[0]
    # And through the public call, a third scan is credited the same way.
    third = redeemer.redeem(shop.code(3), phone=PHONE, now=NOW)
    assert (third.balance, third.points, third.diversion, third.joined) == (30, 10, False, False)


@pytest.mark.parametrize(
    "case",
    ["already_redeemed", "new_member", "diversion", "not_activated", "void", "window", "openid"],
)
def test_other_cases_write_nothing_there(shop, redeemer, case: str) -> None:
    redeemer.redeem(shop.code(1), phone=PHONE, now=NOW)
    kw: dict[str, Any] = {}
    seq = 2
    if case == "already_redeemed":
        seq = 1
    elif case == "new_member":
        kw["phone"] = "+8613900139000"
    elif case == "diversion":
        kw["scan_region"] = "31"
    elif case == "not_activated":
        seq = 600  # codes 501..1000 are not activated
    elif case == "void":
        with shop.ctx.engine.begin() as conn:
            conn.execute(text("UPDATE batches SET status = 'void' WHERE id = :b"), {"b": shop.batch})
    elif case == "window":
        with shop.ctx.engine.begin() as conn:
            conn.execute(text("UPDATE batches SET redeem_until = :d WHERE id = :b"),
                         {"d": NOW.date() - dt.timedelta(days=1), "b": shop.batch})
    elif case == "openid":
        kw["openid"] = "o-someone-else"
    before = shop.snapshot()
    assert _try(redeemer, shop, seq, **kw) is None
    assert shop.snapshot() == before
