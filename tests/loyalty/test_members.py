"""Members: binding phones and external ids, and merges that lose nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from loyalcode.errors import InvalidInput
from loyalcode.events.outbox import list_events
from loyalcode.loyalty import members
from loyalcode.loyalty.errors import (
    IdentityInUse,
    InvalidIdentity,
    InvalidPhone,
    MemberNotFound,
    PhoneUnverified,
)
from loyalcode.store.timeutil import utc
from tests.shop import OTHER_PHONE, PHONE, PHONE_E164


def _bind(shop, **kwargs):
    with shop.ctx.engine.connect() as conn, conn.begin():
        return members.bind(conn, now=utc(), **kwargs)


def _info(shop, member_id):
    with shop.ctx.engine.connect() as conn:
        info = members.member_info(conn, member_id, with_ledger=True)
        conn.rollback()
        return info


@pytest.mark.parametrize(
    "raw", ["13800138000", "+86 138 0013 8000", "+86-138-0013-8000", "(+86)13800138000", "８６１３８００１３８０００"]
)
def test_normalize_phone(raw: str) -> None:
    assert members.normalize_phone(raw) == PHONE_E164


@pytest.mark.parametrize("raw", ["", " ", "abc", "123", "+1 555", "1380013800", "1" * 41, "+86 000 0000 0000"])
def test_invalid_phone(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        members.normalize_phone(raw)


def test_bind_creates_then_links_identities(shop) -> None:
    created = _bind(shop, identities={"openid": "oA"})
    assert created.created and [e.type for e in created.events] == ["member_joined"]
    before = shop.snapshot()
    with pytest.raises(PhoneUnverified):  # a phone joins an openid only once verified
        _bind(shop, phone=PHONE, identities={"openid": "oA", "unionid": "uA"})
    assert shop.snapshot() == before
    bound = _bind(shop, phone=PHONE, identities={"openid": "oA", "unionid": "uA"},
                  phone_verified=True)
    assert bound.member == created.member and not bound.created
    assert [e.type for e in bound.events] == ["phone_bound"]
    info = _info(shop, created.member)
    assert info.phone == PHONE_E164
    assert info.identities == (("openid", "oA"), ("unionid", "uA"))
    with pytest.raises(InvalidIdentity):
        _bind(shop, identities={"openid": "x" * 129})
    with pytest.raises(InvalidInput):
        _bind(shop)


def test_merge_keeps_every_point_and_event(shop, redeemer) -> None:
    # Member A: phone 138..., two redemptions. Member B: phone 139..., openid oB, one.
    a1 = redeemer.redeem(shop.code(1), phone=PHONE)
    redeemer.redeem(shop.code(2), phone=PHONE, region="31")  # plus a diversion alert
    b1 = redeemer.redeem(shop.code(3), phone=OTHER_PHONE, openid="oB", phone_verified=True)
    assert (a1.member != b1.member)
    with shop.ctx.engine.connect() as conn:
        events_before = {e.id: e for e in list_events(conn)}
        conn.rollback()
    total_before = shop.snapshot()["balance_total"]

    # B (a phone of its own) binding A's phone is refused: never two phones merged.
    with pytest.raises(IdentityInUse):
        _bind(shop, phone=PHONE, identities={"openid": "oB"}, phone_verified=True)
    # An operator's merge of B into A (the merge a phone-less member's bind makes).
    with shop.ctx.engine.connect() as conn, conn.begin():
        merged_event = members.merge(conn, absorbed=b1.member, into=a1.member, now=utc())
    assert merged_event is not None and merged_event.type == "members_merged"

    a = _info(shop, a1.member)
    assert a.balance == a.ledger_sum == 30 == total_before
    assert a.redemptions == 3 and len(a.ledger) == 3
    assert ("openid", "oB") in a.identities
    # Every earlier event still exists exactly as written (the outbox is immutable).
    with shop.ctx.engine.connect() as conn:
        events_after = {e.id: e for e in list_events(conn)}
        b_row = conn.execute(
            text("SELECT phone, balance, merged_into_id FROM members WHERE id = :id"), {"id": b1.member}
        ).one()
        conn.rollback()
    assert set(events_before) <= set(events_after)
    assert all(events_after[i] == events_before[i] for i in events_before)
    assert {e.member for e in events_before.values()} == {a1.member, b1.member}
    merged = events_after[merged_event.id]
    assert merged.payload["merged_from"] == b1.member and merged.payload["points_moved"] == 10
    assert tuple(b_row) == (None, 0, a1.member)
    # The absorbed member's id still finds the survivor; the openid earns for A.
    assert _info(shop, b1.member).id == a1.member
    assert redeemer.redeem(shop.code(4), openid="oB").balance == 40
    shop.assert_balances_match_ledger()


def test_redeem_with_openid_of_phone_less_member_merges_into_phone_holder(shop, redeemer) -> None:
    holder = redeemer.redeem(shop.code(1), phone=PHONE)
    shell = _bind(shop, identities={"openid": "oShell"})
    before = shop.snapshot()
    with pytest.raises(PhoneUnverified):
        redeemer.redeem(shop.code(2), phone=PHONE, openid="oShell")
    assert shop.snapshot() == before
    r = redeemer.redeem(shop.code(2), phone=PHONE, openid="oShell", phone_verified=True)
    assert r.member == holder.member and r.balance == 20
    assert [e.type for e in r.events] == ["members_merged", "points_earned"]
    assert _info(shop, shell.member).id == holder.member


def test_identity_held_by_a_member_with_a_phone_is_not_stolen(shop, redeemer) -> None:
    redeemer.redeem(shop.code(1), phone=PHONE, openid="oTaken", phone_verified=True)
    other = _bind(shop, phone=OTHER_PHONE)
    with pytest.raises(IdentityInUse):
        _bind(shop, member_id=other.member, identities={"openid": "oTaken"}, phone_verified=True)


def test_member_not_found(shop) -> None:
    with shop.ctx.engine.connect() as conn:
        with pytest.raises(MemberNotFound):
            members.find_member(conn, phone=PHONE)
        with pytest.raises(MemberNotFound):
            members.find_member(conn, identities={"openid": "nobody"})
        with pytest.raises(MemberNotFound):
            members.find_member(conn, member_id=999)
        conn.rollback()
