"""Loyalty money paths racing each other and merges on PostgreSQL (READ COMMITTED).

The interleavings are forced (tests/redemption/_racing.py): one side is held open in a
transaction of the test's, the other waits on its lock, then the test commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.redemption.tiers import evaluate
from tests.loyalty.conftest import T0, Loyal, phone
from tests.loyalty.test_tiers import tiered  # noqa: F401  (the fixture: 30 银卡, 60 金卡)
from tests.redemption._racing import PG_ONLY, held, race


def _lock_member(conn: Any, member: int) -> None:
    """Hold the member's row, as any writer of its balance (a gift order, a scan) does."""
    conn.execute(text("SELECT id FROM members WHERE id = :m FOR UPDATE"), {"m": member})


# --- tiers: an upgrade reached by two scans at once ------------------------------------


@PG_ONLY
@pytest.mark.parametrize("history", ["new", "old"])
@pytest.mark.parametrize("path", ["fast", "full"])
def test_two_scans_that_together_reach_a_tier_upgrade(tiered: Loyal, path: str, history: str) -> None:  # noqa: F811
    """10 points earned in the window; two scans of 10 at once reach 30 (银卡). Each read
    10 before the other committed, so each alone stays below 30: the second to write must
    see 30. ``old``: ten more scans before the window (金卡 then, 普卡 since the
    evaluation), so the lifetime total says "maybe" and the window sum decides."""
    loyal = tiered
    if history == "old":
        loyal.earn(phone(1), 10, T0 - dt.timedelta(days=40))
        with loyal.tx() as conn:
            assert [c.tier for c in evaluate(conn, loyal.settings, T0)] == ["普卡"]
    m = loyal.earn(phone(1), 1).member
    before, balance = len(loyal.events("tier_changed")), loyal.balance(m)
    extra = {"purchase_channel": "GD-DIST"} if path == "full" else {}
    codes = [loyal.shop.code(loyal.next_seq + i) for i in range(2)]
    engine = loyal.engine
    with held(engine) as conn:
        _lock_member(conn, m)
        scans = race(engine, *[
            (lambda c=c: loyal.redeemer.redeem(c, phone=phone(1), now=T0, **extra)) for c in codes
        ])
    assert sorted(s.result().balance - balance for s in scans) == [10, 20]
    assert loyal.scalar("SELECT tier FROM member_tiers WHERE member_id = :m", m=m) == "银卡"
    changes = loyal.events("tier_changed")[before:]
    assert [(e["previous_tier"], e["tier"]) for e in changes] == [("普卡", "银卡")]
    loyal.check_ledger()
