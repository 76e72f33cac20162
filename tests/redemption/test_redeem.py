"""Every outcome of a scan, on SQLite and PostgreSQL, through the library."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from loyalcode.channels.activation import activate, activation_history
from loyalcode.channels.errors import ChannelNotFound, InvalidRegion
from loyalcode.codegen.batches import void_batch
from loyalcode.codegen.errors import CodeTypo, ForgedCode, MalformedCode
from loyalcode.errors import RedemptionError
from loyalcode.loyalty.errors import InvalidPhone, PhoneRequired
from loyalcode.redemption.errors import (
    AlreadyRedeemed,
    BatchVoidScan,
    Expired,
    IdentityRequired,
    NotActivated,
    NotYetValid,
    UnknownCode,
    error_codes,
)
from tests.shop import OTHER_PHONE, PHONE, PHONE_E164, UTC

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _swap_symbol(code: str, i: int) -> str:
    c = ALPHABET[(ALPHABET.index(code[i]) + 1) % 32]
    return code[:i] + c + code[i + 1 :]


def test_success_result(shop, redeemer) -> None:
    r = redeemer.redeem(shop.code(1), phone=PHONE, region="440100", source="10.0.0.1")
    assert (r.points, r.balance, r.batch, r.sku, r.channel) == (10, 10, shop.batch, "SERUM-50", "GD-DIST")
    assert (r.diversion, r.scan_region, r.channel_region, r.joined) == (False, "4401", "44", True)
    assert [e.type for e in r.events] == ["member_joined", "points_earned"]
    assert r.serial == shop.serial_start
    r2 = redeemer.redeem(shop.code(2), phone="+86 138 0013 8000")
    assert (r2.member, r2.balance, r2.joined) == (r.member, 20, False)
    assert [e.type for e in r2.events] == ["points_earned"]
    with shop.ctx.engine.connect() as conn:
        row = conn.execute(text("SELECT phone, balance FROM members")).one()
        red = conn.execute(
            text("SELECT serial, batch_id, member_id, points, scan_region, diversion, source "
                 "FROM redemptions ORDER BY serial")
        ).all()
        ledger = conn.execute(text("SELECT delta, kind, reason, redemption_serial FROM ledger ORDER BY id")).all()
        conn.rollback()
    assert tuple(row) == (PHONE_E164, 20)
    assert [tuple(x) for x in red] == [
        # the source as a keyed hash ([redemption] keep_source keeps it in clear)
        (shop.serial_start, shop.batch, r.member, 10, "4401", False,
         shop.keyring.identity_key("source", "10.0.0.1")),
        (shop.serial_start + 1, shop.batch, r.member, 10, None, False, None),
    ]
    assert [tuple(x) for x in ledger] == [
        (10, "earn", "code redeemed", shop.serial_start),
        (10, "earn", "code redeemed", shop.serial_start + 1),
    ]
    shop.assert_balances_match_ledger()


def test_qr_payload_and_typed_code_are_the_same_code(shop, redeemer) -> None:
    code = shop.code(3)
    typed = " ".join(code[i : i + 4] for i in range(0, 16, 4)).lower().replace("0", "O")
    assert redeemer.redeem(f"HTTPS://LC.EXAMPLE.COM/C/{code}", phone=PHONE).points == 10
    with pytest.raises(AlreadyRedeemed) as err:
        redeemer.redeem(typed, phone=PHONE)
    assert err.value.same_member is True
    with pytest.raises(AlreadyRedeemed):
        redeemer.redeem(f"https://lc.example.com/x?c={code.lower()}", phone=PHONE)


def test_typed_code_with_lookalikes_redeems(shop, redeemer) -> None:
    code = shop.code(4)
    typed = "-".join(code[i : i + 4] for i in range(0, 16, 4)).lower().replace("0", "o").replace("1", "l")
    assert redeemer.redeem(typed, phone=PHONE).serial == shop.serial_start + 3


def test_codec_refusals(shop, redeemer) -> None:
    code = shop.code(5)
    before = shop.snapshot()
    with pytest.raises(MalformedCode):
        redeemer.redeem("not a code", phone=PHONE)
    with pytest.raises(CodeTypo):
        redeemer.redeem(_swap_symbol(code, 6), phone=PHONE)
    with pytest.raises(CodeTypo):
        redeemer.redeem(code[:3] + code[4] + code[3] + code[5:], phone=PHONE)
    forged = "ABCDEFGHJKMNPQR"
    from loyalcode.codegen.checkchar import calc_check_symbol

    with pytest.raises(ForgedCode):
        redeemer.redeem(forged + calc_check_symbol(forged), phone=PHONE)
    assert shop.snapshot() == before
    assert shop.count("scan_failures") == 1  # one bucket: the phone


def test_unknown_serial(shop, redeemer) -> None:
    beyond = shop.code(1001)  # authentic, but past the end of every batch
    with pytest.raises(UnknownCode) as err:
        redeemer.redeem(beyond, phone=PHONE)
    assert err.value.code == "unknown"
    assert shop.snapshot()["members"] == 0


def test_not_activated_consumes_nothing(shop, redeemer) -> None:
    code = shop.code(501)
    with pytest.raises(NotActivated):
        redeemer.redeem(code, phone=PHONE)
    assert shop.snapshot() == {"members": 0, "member_identities": 0, "ledger": 0, "redemptions": 0, "balance_total": 0}
    with shop.ctx.session() as s, s.begin():
        activate(s, shop.batch, channel="SH-SHOP", seq_from=501, seq_to=501)
    assert redeemer.redeem(code, phone=PHONE).channel == "SH-SHOP"


def test_created_batch_is_not_activated(shop, redeemer) -> None:
    _batch, start = shop.batch_with(activate=False)
    with pytest.raises(NotActivated):
        redeemer.redeem(shop.code(1, start), phone=PHONE)


def test_batch_void(shop, redeemer) -> None:
    code = shop.code(6)
    with shop.ctx.session() as s, s.begin():
        void_batch(s, shop.batch)
    with pytest.raises(BatchVoidScan) as err:
        redeemer.redeem(code, phone=PHONE)
    assert err.value.code == "batch_void"
    assert shop.snapshot()["redemptions"] == 0


def test_redemption_window(shop, redeemer) -> None:
    _, start = shop.batch_with(redeem_from="2026-03-01", redeem_until="2026-03-31")
    code = shop.code(1, start)
    # Dates are days in China (UTC+8): 2026-02-28 16:30 UTC is already 1 March there.
    with pytest.raises(NotYetValid) as err:
        redeemer.redeem(code, phone=PHONE, now=dt.datetime(2026, 2, 28, 15, 59, tzinfo=UTC))
    assert err.value.message == "This code can be redeemed from 2026-03-01."
    with pytest.raises(Expired) as err2:
        redeemer.redeem(code, phone=PHONE, now=dt.datetime(2026, 3, 31, 16, 1, tzinfo=UTC))
    assert err2.value.code == "expired"
    assert shop.snapshot()["redemptions"] == 0
    r = redeemer.redeem(code, phone=PHONE, now=dt.datetime(2026, 2, 28, 16, 30, tzinfo=UTC))
    assert r.points == 5


def test_already_redeemed_same_and_other_member_and_one_clone_alert(shop, redeemer) -> None:
    code = shop.code(7)
    first = redeemer.redeem(code, phone=PHONE)
    with pytest.raises(AlreadyRedeemed) as same:
        redeemer.redeem(code, phone=PHONE)
    assert same.value.same_member is True and same.value.to_dict()["same_member"] is True
    assert shop.count("clone_alerts") == 0
    for _ in range(3):
        with pytest.raises(AlreadyRedeemed) as other:
            redeemer.redeem(code, phone=OTHER_PHONE)
        assert other.value.same_member is False
    assert shop.count("clone_alerts") == 1
    with shop.ctx.engine.connect() as conn:
        alerts = conn.execute(text("SELECT payload FROM events WHERE type = 'clone_alert'")).all()
        conn.rollback()
    assert len(alerts) == 1
    payload = alerts[0][0]
    payload = payload if isinstance(payload, dict) else __import__("json").loads(payload)
    # The alert names who tried: the other phone, never seen before, became a member
    # for it (no points: its scan credited nothing), once.
    with shop.ctx.engine.connect() as conn:
        other_member = conn.execute(text("SELECT id FROM members WHERE phone = '+8613900139000'"),
                                    ).scalar_one()
        conn.rollback()
    assert payload == {"serial": first.serial, "batch": shop.batch, "redeemed_by": first.member,
                       "attempted_by": other_member}
    assert shop.count("members") == 2
    assert shop.count("ledger") == 1
    shop.assert_balances_match_ledger()


def test_phone_required_consumes_nothing(shop, redeemer) -> None:
    code = shop.code(8)
    with pytest.raises(PhoneRequired):
        redeemer.redeem(code, openid="oWX-anon")
    with pytest.raises(IdentityRequired):  # names no one: refused before the code is read
        redeemer.redeem(code)
    assert shop.snapshot()["redemptions"] == 0 and shop.count("members") == 0
    r = redeemer.redeem(code, phone=PHONE, openid="oWX-anon", phone_verified=True)
    assert r.points == 10
    # Now the openid alone names a member with a phone: it earns.
    assert redeemer.redeem(shop.code(9), openid="oWX-anon").balance == 20


def test_invalid_phone(shop, redeemer) -> None:
    for bad in ("12345", "phone", "+86 000 0000 0000", "", "1" * 50):
        with pytest.raises(InvalidPhone) as err:
            redeemer.redeem(shop.code(10), phone=bad)
        assert err.value.code == "invalid_phone"
    assert shop.snapshot()["members"] == 0


def test_invalid_region_and_purchase_channel(shop, redeemer) -> None:
    with pytest.raises(InvalidRegion):
        redeemer.redeem(shop.code(11), phone=PHONE, region="99x")
    with pytest.raises(ChannelNotFound):
        redeemer.redeem(shop.code(11), phone=PHONE, purchase_channel="NOPE")
    r = redeemer.redeem(shop.code(11), phone=PHONE, purchase_channel="SH-SHOP")
    with shop.ctx.engine.connect() as conn:
        pc = conn.execute(
            text("SELECT c.code FROM redemptions r JOIN channels c ON c.id = r.purchase_channel_id")
        ).scalar_one()
        conn.rollback()
    assert pc == "SH-SHOP" and r.channel == "GD-DIST"
    assert r.purchase_channel == "SH-SHOP"  # a Shanghai shop is not below GD-DIST
    assert r.diversion and r.diversion_reasons == ("channel",)


def test_purchase_channel_outside_the_shipped_subtree_is_a_diversion(shop, redeemer) -> None:
    """Sold by the channel itself or one below it: fine; by any other: diversion (窜货),
    whatever the region says, with one alert naming both channels."""
    inside = redeemer.redeem(shop.code(20), phone=PHONE, purchase_channel="GD-DIST")
    below = redeemer.redeem(shop.code(21), phone=PHONE, purchase_channel="GZ-WHOLE")
    assert (inside.diversion, below.diversion) == (False, False)
    assert below.diversion_reasons == () and below.purchase_channel == "GZ-WHOLE"
    # Re-shipped to the Guangzhou wholesaler: its parent is no longer "below" it.
    with shop.ctx.session() as s, s.begin():
        activate(s, shop.batch, channel="GZ-WHOLE", seq_from=30, seq_to=30)
    up = redeemer.redeem(shop.code(30), phone=PHONE, purchase_channel="GD-DIST", region="4401")
    assert (up.channel, up.diversion, up.diversion_reasons) == ("GZ-WHOLE", True, ("channel",))
    both = redeemer.redeem(shop.code(22), phone=PHONE, purchase_channel="SH-SHOP", region="31")
    assert both.diversion_reasons == ("region", "channel")
    assert [e.type for e in both.events] == ["points_earned", "diversion_alert"]
    with shop.ctx.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT r.serial, r.diversion, c.code FROM redemptions r "
            "JOIN channels c ON c.id = r.purchase_channel_id ORDER BY r.serial"
        )).all()
        payloads = conn.execute(
            text("SELECT payload FROM events WHERE type = 'diversion_alert' ORDER BY id")
        ).scalars().all()
        conn.rollback()
    assert [(bool(d), c) for _, d, c in rows] == [
        (False, "GD-DIST"), (False, "GZ-WHOLE"), (True, "SH-SHOP"), (True, "GD-DIST")
    ]
    payloads = [p if isinstance(p, dict) else __import__("json").loads(p) for p in payloads]
    assert [(p["reasons"], p["channel"], p["purchase_channel"]) for p in payloads] == [
        (["channel"], "GZ-WHOLE", "GD-DIST"), (["region", "channel"], "GD-DIST", "SH-SHOP")
    ]
    assert both.to_dict()["diversion_reasons"] == ["region", "channel"]
    assert both.to_dict()["purchase_channel"] == "SH-SHOP"


def test_diversion_flagged_with_both_regions(shop, redeemer) -> None:
    r = redeemer.redeem(shop.code(12), phone=PHONE, region="310000")
    assert (r.diversion, r.scan_region, r.channel_region) == (True, "31", "44")
    assert [e.type for e in r.events] == ["member_joined", "points_earned", "diversion_alert"]
    ok = redeemer.redeem(shop.code(13), phone=PHONE, region="440106")
    assert ok.diversion is False
    unknown_region = redeemer.redeem(shop.code(14), phone=PHONE)
    assert unknown_region.diversion is False
    with shop.ctx.engine.connect() as conn:
        flags = conn.execute(text("SELECT diversion FROM redemptions ORDER BY serial")).scalars().all()
        payload = conn.execute(text("SELECT payload FROM events WHERE type = 'diversion_alert'")).scalar_one()
        conn.rollback()
    payload = payload if isinstance(payload, dict) else __import__("json").loads(payload)
    assert [bool(f) for f in flags] == [True, False, False]
    assert payload["channel_region"] == "44" and payload["scan_region"] == "31"
    assert payload["channel"] == "GD-DIST"


def test_reactivation_to_a_sub_channel_latest_wins_history_kept(shop, redeemer) -> None:
    with shop.ctx.session() as s, s.begin():
        activate(s, shop.batch, channel="GZ-WHOLE", seq_from=101, seq_to=200)
    assert redeemer.redeem(shop.code(150), phone=PHONE).channel == "GZ-WHOLE"
    assert redeemer.redeem(shop.code(100), phone=PHONE).channel == "GD-DIST"
    r = redeemer.redeem(shop.code(201), phone=PHONE, region="440300")  # Shenzhen: inside 44
    assert (r.channel, r.diversion) == ("GD-DIST", False)
    sub = redeemer.redeem(shop.code(151), phone=PHONE, region="440300")  # outside 4401
    assert (sub.channel, sub.channel_region, sub.diversion) == ("GZ-WHOLE", "4401", True)
    with shop.ctx.session() as s, s.begin():
        activate(s, shop.batch, channel="GD-DIST", seq_from=160, seq_to=160)
        history = activation_history(s, shop.batch)
    assert [(h.channel, h.seq_from, h.seq_to) for h in history] == [
        ("GD-DIST", 1, 500), ("GZ-WHOLE", 101, 200), ("GD-DIST", 160, 160)
    ]
    assert redeemer.redeem(shop.code(160), phone=PHONE).channel == "GD-DIST"
    assert redeemer.redeem(shop.code(161), phone=PHONE).channel == "GZ-WHOLE"


def test_activation_moves_batch_to_active_and_refuses_void(shop) -> None:
    from loyalcode.codegen.errors import BatchVoid, RangeOutsideBatch

    batch, _ = shop.batch_with(activate=False)
    with shop.ctx.session() as s, s.begin():
        info = activate(s, batch, channel="SH-SHOP", seq_from=1, seq_to=10)
    assert (info.batch_status, info.seq_from, info.seq_to) == ("active", 1, 10)
    with pytest.raises(RangeOutsideBatch), shop.ctx.session() as s, s.begin():
        activate(s, batch, channel="SH-SHOP", seq_from=90, seq_to=101)
    with shop.ctx.session() as s, s.begin():
        void_batch(s, batch)
    with pytest.raises(BatchVoid), shop.ctx.session() as s, s.begin():
        activate(s, batch, channel="SH-SHOP")


def test_every_outcome_has_a_stable_code() -> None:
    codes = error_codes()
    assert sorted(codes) == sorted([
        "malformed", "typo", "forged", "unknown", "not_activated", "batch_void", "not_yet_valid",
        "expired", "already_redeemed", "phone_required", "throttled", "invalid_phone",
        "identity_required", "identity_in_use", "phone_unverified",
    ])
    assert all(issubclass(c, RedemptionError) for c in codes.values())
