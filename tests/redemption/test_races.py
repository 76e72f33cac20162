"""Races on PostgreSQL (READ COMMITTED): a money path interleaved with another one.

Each test holds one side open in a transaction of its own, starts the other in a
thread, waits until PostgreSQL reports that thread's backend waiting for a lock (so
the interleaving is forced, not hoped for), then commits and checks what came out:
no credit lost on a merged member's tombstone, balances equal to their ledgers, no
duplicate event, and a typed outcome (never a raw database error) for the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, text

from loyalcode.loyalty import members
from loyalcode.loyalty.errors import IdentityInUse
from loyalcode.redemption.errors import AlreadyRedeemed
from loyalcode.store.timeutil import utc

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


@PG_ONLY
def test_a_fast_and_a_full_scan_of_one_code_by_one_member_do_not_deadlock(shop, redeemer) -> None:
    """While a gift order (say) holds A's row, A's fast-path scan of a code waits for it
    and then the same code's full-path scan (a purchase channel) comes: both paths must
    take A's row before the code's serial, else each waits for the other."""
    a = redeemer.redeem(shop.code(1), phone=PA).member
    code = shop.code(2)
    engine = shop.ctx.engine
    with held(engine) as conn:
        conn.execute(text("SELECT id FROM members WHERE id = :a FOR UPDATE"), {"a": a})
        fast, full = race(
            engine,
            lambda: redeemer.redeem(code, phone=PA),
            lambda: redeemer.redeem(code, phone=PA, purchase_channel="GD-DIST"),
        )
    assert fast.result().balance == 20
    with pytest.raises(AlreadyRedeemed) as repeat:
        full.result()
    assert repeat.value.same_member is True
    shop.assert_balances_match_ledger()


def _events(shop: Any, type_: str) -> list[Any]:
    with shop.ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM events WHERE type = :t ORDER BY id"),
                            {"t": type_}).scalars().all()
        conn.rollback()
    return list(rows)


# --- binding a phone racing a first scan of it ---------------------------------------------


@PG_ONLY
def test_binding_a_phone_while_a_first_scan_creates_its_member(shop, redeemer) -> None:
    """A phone-less member (openid oA) scans with phone PA while a first scan of PA
    alone is creating PA's member (held open here): the bind's ``UPDATE members SET
    phone`` meets the new row in the unique index. The caller gets its redemption, the
    openid's member merged into PA's, not a raw IntegrityError."""
    engine = shop.ctx.engine
    with held(engine) as conn:
        shell = members.bind(conn, now=utc(), identities={"openid": "oA"}).member
    with held(engine) as conn:
        first, _ = members.create_member(conn, PA, utc(), "redeem")
        (scan,) = race(engine, lambda: redeemer.redeem(shop.code(1), phone=PA, openid="oA", phone_verified=True))
    result = scan.result()
    assert result.member == first
    assert [e.type for e in result.events] == ["members_merged", "points_earned"]
    with engine.connect() as conn:
        assert members.resolve_id(conn, shell) == first
        conn.rollback()
    _tombstones_hold_nothing(shop)
    shop.assert_balances_match_ledger()


@PG_ONLY
def test_two_scans_binding_one_phone_to_one_member_bind_it_once(shop, redeemer) -> None:
    """Two scans of (phone PA, openid oA) by a phone-less member at once: the second
    waits for the first one's row, then must not bind the phone again (one phone_bound)."""
    engine = shop.ctx.engine
    with held(engine) as conn:
        shell = members.bind(conn, now=utc(), identities={"openid": "oA"}).member
    with held(engine) as conn:
        members.bind(conn, now=utc(), phone=PA, identities={"openid": "oA"}, phone_verified=True)
        (scan,) = race(engine, lambda: redeemer.redeem(shop.code(1), phone=PA, openid="oA", phone_verified=True))
    result = scan.result()
    assert result.member == shell
    assert [e.type for e in result.events] == ["points_earned"]
    assert len(_events(shop, "phone_bound")) == 1


@PG_ONLY
def test_a_first_scan_with_an_openid_that_loses_the_race_to_create_the_member(shop, redeemer) -> None:
    """Two first scans of PA at once, the second with a new openid: the second finds the
    member the first created (the unique phone decides) and says it joined no one."""
    engine = shop.ctx.engine
    with held(engine) as conn:
        first, _ = members.create_member(conn, PA, utc(), "redeem")
        (scan,) = race(engine, lambda: redeemer.redeem(shop.code(1), phone=PA, openid="oNew", phone_verified=True))
    result = scan.result()
    assert (result.member, result.joined) == (first, False)
    assert [e.type for e in result.events] == ["points_earned"]
    assert len(_events(shop, "member_joined")) == 1  # the first scan's
    shop.assert_balances_match_ledger()


# --- merges racing merges --------------------------------------------------------------


def _two_members(shop: Any, redeemer: Any) -> tuple[int, int]:
    """Members A (phone PA) and B (phone PB), 10 points each."""
    return (redeemer.redeem(shop.code(1), phone=PA).member,
            redeemer.redeem(shop.code(2), phone=PB).member)


def _while_a_merges_into_b(shop: Any, a: int, b: int, call: Callable[[Connection], Any]) -> Any:
    """``call(conn)`` in a transaction of its own, let go once it waits for the rows of a
    merge of A into B that is held open (an operator's merge: a bind never merges two
    members who each have a phone); what it returned."""
    engine = shop.ctx.engine

    def in_tx() -> Any:
        with held(engine) as c:
            return call(c)

    with held(engine) as conn:
        members.merge(conn, absorbed=a, into=b, now=utc())
        (second,) = race(engine, in_tx)
    return second.result()


@PG_ONLY
def test_the_same_merge_twice_at_once_merges_once(shop, redeemer) -> None:
    """Two merges of A into B at once: one members_merged, all points on B."""
    a, b = _two_members(shop, redeemer)
    assert _while_a_merges_into_b(
        shop, a, b, lambda c: members.merge(c, absorbed=a, into=b, now=utc())) is None
    assert len(_events(shop, "members_merged")) == 1
    _tombstones_hold_nothing(shop)
    shop.assert_balances_match_ledger()
    assert _total(shop) == 20


@PG_ONLY
def test_merge_called_again_while_the_first_merge_commits(shop, redeemer) -> None:
    """merge() itself, called for two members a concurrent merge has just joined,
    merges nothing and says so (None)."""
    a, b = _two_members(shop, redeemer)
    assert _while_a_merges_into_b(
        shop, a, b, lambda c: members.merge(c, absorbed=b, into=a, now=utc())) is None
    assert len(_events(shop, "members_merged")) == 1
    _tombstones_hold_nothing(shop)
    shop.assert_balances_match_ledger()
    assert _total(shop) == 20


# --- a Redeemer shared by threads that come and go ------------------------------------------


@PG_ONLY
def test_threads_that_end_give_their_connections_back(shop) -> None:
    """A service that runs each request in a thread of its own: a Redeemer kept one
    pooled connection (and one fast-path connection) per thread that ever redeemed,
    for ever, so the pool ran dry and every later scan waited, then raised a raw
    TimeoutError. A thread's connections are released when it ends."""
    from loyalcode.redemption import Redeemer
    from loyalcode.store.context import Context
    from loyalcode.store.db import make_engine

    engine = make_engine(shop.ctx.url, pool_size=2, max_overflow=0, pool_timeout=2)
    redeemer = Redeemer(Context(url=shop.ctx.url, engine=engine, config=shop.ctx.config))

    def request(seq: int) -> Any:
        redeemer.redeem(shop.code(seq), phone=PA, purchase_channel="GD-DIST")
        redeemer.redeem(shop.code(seq + 100), phone=PA)  # the fast path
        conn = redeemer._fast._local.conn  # type: ignore[union-attr]
        return conn, int(conn.info.backend_pid)

    fast, pids = [], []
    try:
        for seq in range(1, 7):  # one request after the other, each in a new thread
            thread = ThreadPoolExecutor(max_workers=1)
            conn, pid = thread.submit(request, seq).result(timeout=30)
            fast.append(conn)
            pids.append(pid)
            thread.shutdown(wait=True)  # the thread has ended
            # its pooled connection is back, its fast-path connection closed (the client
            # side, which is deterministic: a closed connection has sent its Terminate;
            # the server's backend then exits in its own time, so pg_stat_activity may
            # still list it for a moment under load, which made this test flaky)
            assert engine.pool.checkedout() == 0
            assert fast[-1].closed, seq
        assert len(set(pids)) == 6  # a connection of its own per thread
        shop.assert_balances_match_ledger()
    finally:
        redeemer.close()
        engine.dispose()


# --- the identity rules when two requests race (issue 11) -----------------------------------


def _phones(shop: Any) -> dict[int, Any]:
    with shop.ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, phone, merged_into_id FROM members")).all()
        conn.rollback()
    return {r.id: (r.phone, r.merged_into_id) for r in rows}


@PG_ONLY
def test_a_scan_merging_a_phone_less_member_that_gets_a_phone_meanwhile_merges_nothing(
    shop, redeemer
) -> None:
    """X (openid oX, no phone) scans with A's phone: X is to be merged into A. Meanwhile
    X binds phone PB (held open); the merge waits for X's row, and must then see two
    members who each have a phone: refused, not X merged and PB cleared."""
    a = redeemer.redeem(shop.code(1), phone=PA).member
    engine = shop.ctx.engine
    with held(engine) as conn:
        x = members.bind(conn, now=utc(), identities={"openid": "oX"}).member
    with held(engine) as conn:
        members.bind(conn, now=utc(), phone=PB, identities={"openid": "oX"}, phone_verified=True)
        (scan,) = race(engine, lambda: redeemer.redeem(
            shop.code(2), phone=PA, openid="oX", phone_verified=True))
    with pytest.raises(IdentityInUse):
        scan.result()
    assert _phones(shop) == {a: (PA, None), x: (PB, None)}
    assert _events(shop, "members_merged") == []
    shop.assert_balances_match_ledger()


@PG_ONLY
def test_a_scan_binding_a_phone_to_a_member_that_gets_another_meanwhile_replaces_nothing(
    shop, redeemer
) -> None:
    """X (openid oX, no phone) scans with the new phone PA while a bind gives X phone PB
    (held open): the scan's phone update waits for X's row and must not then replace PB."""
    engine = shop.ctx.engine
    with held(engine) as conn:
        x = members.bind(conn, now=utc(), identities={"openid": "oX"}).member
    with held(engine) as conn:
        members.bind(conn, now=utc(), phone=PB, identities={"openid": "oX"}, phone_verified=True)
        (scan,) = race(engine, lambda: redeemer.redeem(
            shop.code(1), phone=PA, openid="oX", phone_verified=True))
    with pytest.raises(IdentityInUse):
        scan.result()
    assert _phones(shop) == {x: (PB, None)}
    assert len(_events(shop, "phone_bound")) == 1
    assert shop.snapshot()["redemptions"] == 0


@PG_ONLY
def test_one_new_openid_linked_to_two_phones_at_once_goes_to_one(shop, redeemer) -> None:
    """Two verified scans link the new openid oN, one with PA (held open), one with B's
    phone PB: the second waits on the openid's unique entry and then finds it held by a
    member with a phone: refused, B untouched, no merge."""
    b = redeemer.redeem(shop.code(1), phone=PB).member
    engine = shop.ctx.engine
    with held(engine) as conn:
        a = members.bind(conn, now=utc(), phone=PA, identities={"openid": "oN"},
                         phone_verified=True).member
        (scan,) = race(engine, lambda: redeemer.redeem(
            shop.code(2), phone=PB, openid="oN", phone_verified=True))
    with pytest.raises(IdentityInUse):
        scan.result()
    assert _phones(shop) == {a: (PA, None), b: (PB, None)}
    with engine.connect() as conn:
        assert members.member_by_identity(conn, "openid", "oN") == a
        conn.rollback()
    assert shop.snapshot()["redemptions"] == 1
    shop.assert_balances_match_ledger()
