"""Loyalty money paths racing each other and merges on PostgreSQL (READ COMMITTED).

The interleavings are forced (tests/redemption/_racing.py): one side is held open in a
transaction of the test's, the other waits on its lock, then the test commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, text

from loyalcode.loyalty import members
from loyalcode.loyalty.gifts import add_gift, cancel_order, redeem_gift
from loyalcode.loyalty.profile import update_profile
from loyalcode.loyalty.tiers import evaluate
from tests.loyal import PROFILE, T0, Loyal, phone
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


def _tombstones_hold_nothing(loyal: Loyal) -> None:
    assert loyal.scalar(
        "SELECT coalesce(sum(balance), 0) FROM members WHERE merged_into_id IS NOT NULL") == 0
    assert loyal.scalar(
        "SELECT count(*) FROM ledger l JOIN members m ON m.id = l.member_id "
        "WHERE m.merged_into_id IS NOT NULL") == 0


# --- merges racing profile completion, gift orders, cancellations ---------------------------


def _in_tx(loyal: Loyal, call: Callable[[Connection], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with loyal.tx() as c:
            return call(c)
    return run


def _while_merged(loyal: Loyal, a: int, b: int, call: Callable[[Connection], Any]) -> Any:
    """``call(conn)`` in a transaction of its own, let go once it waits for a merge of A
    into B held open; what it returned."""
    with held(loyal.engine) as conn:
        members.merge(conn, absorbed=a, into=b, now=T0)
        (second,) = race(loyal.engine, _in_tx(loyal, call))
    return second.result()


def _deadlock_window(loyal: Loyal, a: int, b: int, call: Callable[[Connection], Any]) -> Any:
    """A merge of A into B paused after it locked both members' rows (A's openid row is
    held), then ``call(conn)`` until it waits too, then the merge goes on: both must
    finish. ``call`` returns what it returned."""
    with loyal.tx() as conn:
        members.bind(conn, now=T0, member_id=a, identities={"openid": "oA"}, phone_verified=True)
    merge = _in_tx(loyal, lambda c: members.merge(c, absorbed=a, into=b, now=T0))
    with held(loyal.engine) as conn:
        conn.execute(text("SELECT id FROM member_identities WHERE member_id = :a FOR UPDATE"),
                     {"a": a})
        merging, second = race(loyal.engine, merge, _in_tx(loyal, call))
    merging.result()
    return second.result()


def _ready(loyal: Loyal, i: int) -> int:
    """A member with a phone and a complete profile: 100 points (the bonus)."""
    m = loyal.member(phone(i))
    loyal.complete(m)
    return m


@PG_ONLY
def test_profile_completed_while_the_member_is_merged(loyal: Loyal) -> None:
    """A completes its profile while A merges into B: the profile and its bonus are B's,
    never a new profile row of A's tombstone."""
    a, b = loyal.member(phone(1)), loyal.member(phone(2))
    result = _while_merged(
        loyal, a, b, lambda c: update_profile(c, a, loyal.settings, T0, **PROFILE))
    assert (result.profile.member, result.profile.complete, result.bonus) == (b, True, 100)
    assert loyal.rows("SELECT member_id FROM member_profiles") == [(b,)]
    _tombstones_hold_nothing(loyal)
    loyal.check_ledger()


@PG_ONLY
def test_profile_completion_and_a_merge_into_the_member_do_not_deadlock(loyal: Loyal) -> None:
    """B completes its profile (it locked its profile row, then its member row for the
    bonus) while A, with a profile and the bonus, merges into B (member rows, then B's
    profile row)."""
    a, b = _ready(loyal, 1), loyal.member(phone(2))
    with loyal.tx() as conn:
        update_profile(conn, b, loyal.settings, T0, name="王小明")
    result = _deadlock_window(
        loyal, a, b, lambda c: update_profile(c, b, loyal.settings, T0, **PROFILE))
    assert (result.profile.member, result.bonus) == (b, 0)  # A's bonus came with the merge
    assert loyal.balance(b) == 100  # one bonus for one person
    _tombstones_hold_nothing(loyal)
    loyal.check_ledger()


@PG_ONLY
def test_a_gift_order_while_the_member_is_merged(loyal: Loyal) -> None:
    """A orders a gift while A merges into B: the order is B's, paid with the points
    that moved (not refused for A's emptied balance)."""
    a, b = _ready(loyal, 1), loyal.member(phone(2))
    with loyal.tx() as conn:
        add_gift(conn, sku="MUG", name="mug", points=30, stock=5, now=T0)
    result = _while_merged(loyal, a, b, lambda c: redeem_gift(c, a, "MUG", loyal.settings, T0))
    assert (result.member, result.balance) == (b, 70)
    _tombstones_hold_nothing(loyal)
    loyal.check_ledger()


@PG_ONLY
def test_a_cancellation_and_a_merge_of_its_member_do_not_deadlock(loyal: Loyal) -> None:
    """A cancels an order (it locked the order, then A's row for the refund) while A
    merges into B (A's and B's rows, then A's orders)."""
    a, b = _ready(loyal, 1), loyal.member(phone(2))
    with loyal.tx() as conn:
        add_gift(conn, sku="MUG", name="mug", points=30, stock=5, now=T0)
        order = redeem_gift(conn, a, "MUG", loyal.settings, T0).order
    result = _deadlock_window(loyal, a, b, lambda c: cancel_order(c, order, loyal.settings, T0))
    assert (result.member, result.balance) == (b, 100)
    assert loyal.balance(b) == 100
    _tombstones_hold_nothing(loyal)
    loyal.check_ledger()


# --- the nightly tier evaluation racing a merge ------------------------------------------


@PG_ONLY
def test_tier_evaluation_and_a_merge_of_two_tiered_members_do_not_deadlock(tiered: Loyal) -> None:  # noqa: F811
    """A (金卡) merges into B (银卡) while the evaluation moves both down (nothing earned
    in the window): the merge holds both members' rows, the evaluation changes B's tier
    row and then waits for B's member row (its event's foreign key); the merge must not
    then wait for B's tier row."""
    loyal = tiered
    old = T0 - dt.timedelta(days=40)
    b = loyal.earn(phone(1), 3, old).member  # 30: 银卡
    a = loyal.earn(phone(2), 6, old).member  # 60: 金卡
    changes = _deadlock_window(loyal, a, b, lambda conn: evaluate(conn, loyal.settings, T0))
    assert [(ch.member, ch.tier) for ch in changes] == [(b, "普卡")]
    # nothing earned in the window: the merged member stays in the lowest tier
    assert loyal.scalar("SELECT tier FROM member_tiers WHERE member_id = :m", m=b) == "普卡"
    loyal.check_ledger()
