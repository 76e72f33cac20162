"""No account takeover: the identity rules of a scan and of a bind, on both databases.

Each test names the attack it stops (issue 11). A refusal changes nothing: no member,
identity, ledger entry or redemption, no phone moved.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.loyalty import members
from loyalcode.loyalty.errors import IdentityInUse, PhoneUnverified
from loyalcode.store.timeutil import utc
from tests.shop import OTHER_PHONE, PHONE, PHONE_E164

OTHER_E164 = "+8613900139000"
NEW_PHONE, NEW_E164 = "13700137000", "+8613700137000"


def _bind(shop: Any, **kwargs: Any) -> members.BindResult:
    with shop.ctx.engine.connect() as conn, conn.begin():
        return members.bind(conn, now=utc(), **kwargs)


def _state(shop: Any) -> dict[str, Any]:
    """Everything a takeover would change: members and their phones, identities, counts."""
    with shop.ctx.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, phone, balance, merged_into_id FROM members ORDER BY id")).all()
        ids = conn.execute(text(
            "SELECT kind, value, member_id FROM member_identities ORDER BY kind, value")).all()
        conn.rollback()
    return {"members": [tuple(r) for r in rows], "identities": [tuple(r) for r in ids],
            **shop.snapshot()}


def _victim_and_attacker(shop: Any, redeemer: Any) -> tuple[int, int]:
    """Victim B: OTHER_PHONE, 10 points. Attacker A: PHONE with openid oA (verified)."""
    victim = redeemer.redeem(shop.code(1), phone=OTHER_PHONE).member
    attacker = redeemer.redeem(shop.code(2), phone=PHONE, openid="oA", phone_verified=True).member
    return victim, attacker


@pytest.mark.parametrize("verified", [False, True])
def test_a_scan_naming_someone_elses_phone_beside_ones_openid_takes_nothing(
    shop, redeemer, verified: bool
) -> None:
    """The takeover: A's openid with B's phone merged A into B (A's phone cleared), and
    A's openid then spent B's points. Two members who each have a phone never merge."""
    victim, attacker = _victim_and_attacker(shop, redeemer)
    before = _state(shop)
    with pytest.raises(IdentityInUse) as err:
        redeemer.redeem(shop.code(3), phone=OTHER_PHONE, openid="oA", phone_verified=verified)
    assert err.value.code == "identity_in_use" and err.value.facts["kind"] == "openid"
    assert _state(shop) == before
    # The openid still earns for its own member only.
    assert redeemer.redeem(shop.code(3), openid="oA").member == attacker
    with shop.ctx.engine.connect() as conn:
        assert members.member_info(conn, victim).phone == OTHER_E164
        conn.rollback()


@pytest.mark.parametrize("verified", [False, True])
def test_a_scan_never_replaces_a_members_phone(shop, redeemer, verified: bool) -> None:
    """A known openid beside a phone no one holds silently replaced its member's phone."""
    _, attacker = _victim_and_attacker(shop, redeemer)
    before = _state(shop)
    with pytest.raises(IdentityInUse):
        redeemer.redeem(shop.code(3), phone=NEW_PHONE, openid="oA", phone_verified=verified)
    assert _state(shop) == before
    with shop.ctx.engine.connect() as conn:
        assert members.member_info(conn, attacker).phone == PHONE_E164
        assert members.member_by_phone(conn, NEW_E164) is None
        conn.rollback()


def test_a_new_openid_beside_someone_elses_phone_needs_a_verified_phone(shop, redeemer) -> None:
    """A brand-new openid beside B's phone was linked to B's account: whoever typed B's
    phone could then earn and spend as B by openid alone."""
    victim, _ = _victim_and_attacker(shop, redeemer)
    before = _state(shop)
    with pytest.raises(PhoneUnverified) as err:
        redeemer.redeem(shop.code(3), phone=OTHER_PHONE, openid="oMallory")
    assert err.value.code == "phone_unverified"
    assert _state(shop) == before
    # The code was not consumed: B, having proved the phone, links the openid and earns.
    r = redeemer.redeem(shop.code(3), phone=OTHER_PHONE, openid="oB", phone_verified=True)
    assert (r.member, r.balance) == (victim, 20)
    assert redeemer.redeem(shop.code(4), openid="oB").member == victim


def test_a_first_scan_with_an_openid_needs_a_verified_phone(shop, redeemer) -> None:
    """Squatting: a new member created with a phone its scanner does not own, and their
    openid, would be the real owner's account (and points) once they scan."""
    before = _state(shop)
    with pytest.raises(PhoneUnverified):
        redeemer.redeem(shop.code(1), phone=NEW_PHONE, openid="oSquat")
    assert _state(shop) == before
    # A phone alone still creates the member on a first scan (no openid to control it).
    assert redeemer.redeem(shop.code(1), phone=NEW_PHONE).joined


def test_bind_never_merges_two_members_who_each_have_a_phone(shop, redeemer) -> None:
    victim, attacker = _victim_and_attacker(shop, redeemer)
    before = _state(shop)
    for kwargs in (
        {"member_id": attacker, "phone": OTHER_PHONE},
        {"phone": OTHER_PHONE, "identities": {"openid": "oA"}},
        {"member_id": victim, "identities": {"openid": "oA"}},
        {"member_id": attacker, "phone": NEW_PHONE},  # nor replaces a phone
    ):
        with pytest.raises(IdentityInUse):
            _bind(shop, **kwargs, phone_verified=True)
        assert _state(shop) == before, kwargs


def test_bind_links_a_phone_and_an_external_id_only_when_verified(shop, redeemer) -> None:
    victim, _ = _victim_and_attacker(shop, redeemer)
    shell = _bind(shop, identities={"openid": "oShell"}).member  # phone-less: no phone involved
    before = _state(shop)
    for kwargs in (
        {"member_id": victim, "identities": {"unionid": "uX"}},  # an id to a member with a phone
        {"phone": OTHER_PHONE, "identities": {"shop": "s-1"}},  # the same, named by phone
        {"phone": NEW_PHONE, "identities": {"openid": "oNew"}},  # a new member with both
        {"member_id": shell, "phone": NEW_PHONE},  # a phone to a phone-less member
        {"identities": {"openid": "oShell"}, "phone": OTHER_PHONE},  # merged into the holder
    ):
        with pytest.raises(PhoneUnverified):
            _bind(shop, **kwargs)
        assert _state(shop) == before, kwargs
    merged = _bind(shop, identities={"openid": "oShell"}, phone=OTHER_PHONE, phone_verified=True)
    assert (merged.member, merged.merged_from) == (victim, shell)
    # What joins no phone to an id needs no word: ids among phone-less members, a repeat.
    assert _bind(shop, identities={"openid": "oLone", "unionid": "uLone"}).created
    assert _bind(shop, phone=OTHER_PHONE, identities={"openid": "oShell"}).member == victim


def test_cli_member_bind_is_an_operators_verified_act(cli, shop, redeemer) -> None:
    victim, attacker = _victim_and_attacker(shop, redeemer)
    r = cli("member", "bind", "--phone", OTHER_PHONE, "--openid", "oDesk", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["member"] == victim
    r = cli("member", "bind", "--id", str(attacker), "--phone", OTHER_PHONE, "--json")
    assert r.exit_code == 1
    assert r.json()["error"]["code"] == "identity_in_use"
    assert r.stderr.startswith("error [identity_in_use]:")
