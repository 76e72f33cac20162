"""Races on PostgreSQL (READ COMMITTED): a money path interleaved with another one.

Each test holds one side open in a transaction of its own, starts the other in a
thread, waits until PostgreSQL reports that thread's backend waiting for a lock (so
the interleaving is forced, not hoped for), then commits and checks what came out:
no credit lost on a merged member's tombstone, balances equal to their ledgers, no
duplicate event, and a typed outcome (never a raw database error) for the caller.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.redemption import members
from loyalcode.redemption.timeutil import utc

from ._racing import PG_ONLY, held, race

PA, PB, PC = "+8613800138001", "+8613800138002", "+8613800138003"


def _tombstones_hold_nothing(shop: Any) -> None:
    """A merged member's row keeps no points, no ledger entry, no redemption."""
    with shop.ctx.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT (SELECT coalesce(sum(balance), 0) FROM members WHERE merged_into_id IS NOT NULL), "
            "(SELECT count(*) FROM ledger l JOIN members m ON m.id = l.member_id "
            " WHERE m.merged_into_id IS NOT NULL), "
            "(SELECT count(*) FROM redemptions r JOIN members m ON m.id = r.member_id "
            " WHERE m.merged_into_id IS NOT NULL), "
            "(SELECT count(*) FROM members WHERE merged_into_id = id)"
        )).one()
        conn.rollback()
    assert tuple(row) == (0, 0, 0, 0)


def _total(shop: Any) -> int:
    with shop.ctx.engine.connect() as conn:
        value = conn.execute(text("SELECT coalesce(sum(balance), 0) FROM members")).scalar_one()
        conn.rollback()
    return int(value)


# --- a redemption racing a merge of its member --------------------------------------------


@PG_ONLY
@pytest.mark.parametrize("path", ["fast", "full"])
def test_redemption_waiting_on_a_merge_of_its_member_credits_no_tombstone(shop, redeemer, path) -> None:
    """A merges into B while A scans: the scan's UPDATE of A's row waits for the merge's
    lock, and must not then credit A's tombstone (points no one can see again). The scan
    is redone after the merge, when A's phone names no one any more: a new member."""
    a = redeemer.redeem(shop.code(1), phone=PA).member
    b = redeemer.redeem(shop.code(2), phone=PB).member
    extra = {"purchase_channel": "GD-DIST"} if path == "full" else {}
    code = shop.code(3)
    engine = shop.ctx.engine
    with held(engine) as conn:
        members.merge(conn, absorbed=a, into=b, now=utc())
        (scan,) = race(engine, lambda: redeemer.redeem(code, phone=PA, **extra))
    result = scan.result()
    assert (result.points, result.balance, result.joined) == (10, 10, True)
    assert result.member not in (a, b)
    _tombstones_hold_nothing(shop)
    shop.assert_balances_match_ledger()
    assert _total(shop) == 30

