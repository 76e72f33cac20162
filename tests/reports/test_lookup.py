"""Customer service's lookup of visible serials (明码), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import doctest
from typing import Any

import pytest
from sqlalchemy import event, text

from loyalcode.channels.activation import activate
from loyalcode.codegen.batches import void_batch
from loyalcode.codegen.visible import for_salt
from loyalcode.redemption.errors import AlreadyRedeemed
from loyalcode.reports import lookup as lookup_module
from loyalcode.reports.lookup import CHUNK, NOT_A_SERIAL, lookup, mask_phone
from tests.shop import OTHER_PHONE, PHONE, PHONE_E164, UTC

MASKED = "+86138****8000"
OTHER_MASKED = "+86139****9000"
KEYS = {"line", "status", "message", "visible", "serial", "state", "batch", "seq", "channel",
        "activated_at", "activations", "redemption", "clone_alert", "case", "pallet", "shipments"}


def _visible(shop: Any, seq: int, start: int | None = None) -> str:
    return for_salt(shop.ctx.visible_salt()).encode((start or shop.serial_start) + seq - 1)


def _lookup(shop: Any, texts: list[str], **kwargs: Any) -> list[Any]:
    with shop.ctx.engine.connect() as conn:
        found = lookup(conn, texts, shop.ctx.visible_salt(), **kwargs)
        conn.rollback()
    return found


def _one(shop: Any, seq: int, start: int | None = None, **kwargs: Any) -> Any:
    (info,) = _lookup(shop, [_visible(shop, seq, start)], **kwargs)
    assert info.status == "ok"
    return info


def _full_phones_absent(output: str) -> None:
    for phone in (PHONE, PHONE_E164, OTHER_PHONE, "+86" + OTHER_PHONE):
        assert phone not in output


def test_redeemable_code(shop) -> None:
    info = _one(shop, 7)
    assert (info.line, info.visible, info.serial, info.seq) == (1, _visible(shop, 7), shop.serial_start + 6, 7)
    assert info.state == "redeemable"
    b = info.batch
    assert (b.id, b.sku, b.name, b.status, b.redeem_from, b.redeem_until) == (
        shop.batch, "SERUM-50", "Serum 50 ml", "active", None, None)
    assert (info.channel, info.activations) == ("GD-DIST", 1)
    assert info.activated_at is not None and info.activated_at.tzinfo is not None
    assert info.redemption is None and info.clone_alert is None


def test_redeemed_code_shows_member_with_masked_phone(shop, redeemer) -> None:
    when = dt.datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    r = redeemer.redeem(shop.code(2), phone=PHONE, region="4401", now=when)
    info = _one(shop, 2)
    assert info.state == "redeemed"
    red = info.redemption
    assert (red.redeemed_at, red.member, red.phone, red.points) == (when, r.member, MASKED, 10)
    assert (red.channel, red.purchase_channel, red.scan_region, red.diversion) == (
        "GD-DIST", None, "4401", False)
    assert info.clone_alert is None
    assert _one(shop, 3).state == "redeemable"  # its neighbour is untouched


def test_diversion_is_reported(shop, redeemer) -> None:
    redeemer.redeem(shop.code(4), phone=PHONE, region="310000")  # GD-DIST's region is 44
    red = _one(shop, 4).redemption
    assert (red.diversion, red.scan_region, red.channel) == (True, "31", "GD-DIST")


def test_clone_alert_names_the_second_member(shop, redeemer) -> None:
    first = redeemer.redeem(shop.code(3), phone=PHONE).member
    second = redeemer.redeem(shop.code(8), phone=OTHER_PHONE).member  # a member already
    when = dt.datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    with pytest.raises(AlreadyRedeemed):
        redeemer.redeem(shop.code(3), phone=OTHER_PHONE, now=when)
    info = _one(shop, 3)
    assert info.state == "redeemed"
    assert (info.redemption.member, info.redemption.phone) == (first, MASKED)
    assert (info.clone_alert.created_at, info.clone_alert.attempted_by) == (when, second)
    assert _one(shop, 8).clone_alert is None


def test_clone_alert_by_a_phone_never_seen_before(shop, redeemer) -> None:
    redeemer.redeem(shop.code(3), phone=PHONE)
    with pytest.raises(AlreadyRedeemed):
        redeemer.redeem(shop.code(3), phone=OTHER_PHONE)  # a new phone: a member for the alert
    alert = _one(shop, 3).clone_alert
    assert alert is not None and alert.attempted_by is not None
    with shop.ctx.engine.connect() as conn:
        phone = conn.execute(text("SELECT phone FROM members WHERE id = :m"),
                             {"m": alert.attempted_by}).scalar_one()
        conn.rollback()
    assert phone == "+8613900139000"


def test_not_activated_and_reactivated(shop) -> None:
    info = _one(shop, 600)  # the shop activates 1..500 of 1000
    assert (info.state, info.channel, info.activated_at, info.activations) == (
        "not_activated", None, None, 0)
    assert info.batch.id == shop.batch and info.seq == 600
    with shop.ctx.session() as s, s.begin():
        activate(s, shop.batch, channel="GZ-WHOLE", seq_from=10, seq_to=20)  # passed down
        activate(s, shop.batch, channel="SH-SHOP", seq_from=600, seq_to=600)
    moved = _one(shop, 15)
    assert (moved.state, moved.channel, moved.activations) == ("redeemable", "GZ-WHOLE", 2)
    for seq, channel, count in ((9, "GD-DIST", 1), (10, "GZ-WHOLE", 2), (20, "GZ-WHOLE", 2),
                                (21, "GD-DIST", 1), (600, "SH-SHOP", 1), (601, None, 0)):
        info = _one(shop, seq)
        assert (info.channel, info.activations) == (channel, count), seq


def test_batch_created_but_never_activated(shop) -> None:
    batch, start = shop.batch_with(activate=False)
    info = _one(shop, 1, start)
    assert (info.state, info.batch.id, info.batch.status, info.activations) == (
        "not_activated", batch, "created", 0)


def test_void_batch(shop) -> None:
    batch, start = shop.batch_with()
    with shop.ctx.session() as s, s.begin():
        void_batch(s, batch)
    info = _one(shop, 1, start)
    assert (info.state, info.batch.id, info.batch.status, info.batch.sku) == (
        "void", batch, "void", "TEA-250")
    assert info.channel == "GD-DIST"  # still activated: void is the answer a scan gets


def test_window_is_judged_in_the_redemption_time_zone(shop) -> None:
    _, start = shop.batch_with(redeem_from="2026-12-01", redeem_until="2026-12-31")
    shanghai = dt.timezone(dt.timedelta(hours=8))
    cases = [
        (dt.datetime(2026, 11, 30, 15, 59, tzinfo=UTC), "not_yet_valid"),  # 23:59 in Shanghai
        (dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC), "redeemable"),      # 1 Dec 00:00
        (dt.datetime(2026, 12, 31, 15, 59, tzinfo=UTC), "redeemable"),
        (dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "expired"),         # 1 Jan 00:00
    ]
    for now, state in cases:
        info = _one(shop, 1, start, tz=shanghai, now=now)
        assert info.state == state, now
    info = _one(shop, 1, start, tz=UTC, now=dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    assert info.state == "redeemable"
    assert (info.batch.redeem_from, info.batch.redeem_until) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


def test_serial_in_no_batch_is_unknown(shop) -> None:
    with shop.ctx.engine.connect() as conn:
        beyond = conn.execute(text("SELECT next_serial FROM deployment")).scalar_one() + 12345
        conn.rollback()
    visible = for_salt(shop.ctx.visible_salt()).encode(beyond)
    (info,) = _lookup(shop, [visible])
    assert (info.status, info.state, info.serial, info.visible) == ("ok", "unknown", beyond, visible)
    assert info.batch is None and info.seq is None and info.redemption is None


def test_invalid_text_is_not_kept(shop) -> None:
    code = shop.code(5)  # a real hidden code typed into the wrong box
    seven = _visible(shop, 7)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in seven)
    texts = [code, "nonsense", "", seven.lower(), f" {seven[:4]}-{seven[4:]} ", fullwidth, "Z" * 40]
    found = _lookup(shop, texts)
    assert [i.status for i in found] == ["invalid", "invalid", "invalid", "ok", "ok", "ok", "invalid"]
    assert [i.line for i in found] == [1, 2, 3, 4, 5, 6, 7]
    for info in found:
        if info.status == "ok":
            assert (info.visible, info.seq) == (seven, 7)
        else:
            assert info.message == NOT_A_SERIAL
            assert set(info.to_dict()) == KEYS
            assert all(v is None for k, v in info.to_dict().items()
                       if k not in ("line", "status", "message", "activations", "shipments"))
    assert all(code not in repr(i) and code not in str(i.to_dict()) for i in found)


def test_many_serials_in_a_few_queries(shop, redeemer) -> None:
    for seq in (1, 250, 499):
        redeemer.redeem(shop.code(seq), phone=PHONE)
    texts = [_visible(shop, seq) for seq in range(1, 1001)]
    texts.insert(300, "nonsense")
    texts.append(_visible(shop, 250))  # a repeat is answered again
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(shop.ctx.engine, "before_cursor_execute", count)
    try:
        found = _lookup(shop, texts)
    finally:
        event.remove(shop.ctx.engine, "before_cursor_execute", count)
    assert len(found) == len(texts) == 1002
    chunks = -(-len(texts) // CHUNK)
    assert len([s for s in statements if "FROM s" in s or "FROM activations" in s]) <= 2 * chunks
    ok = [i for i in found if i.status == "ok"]
    assert [i.seq for i in ok] == [*range(1, 1001), 250]
    assert found[300].status == "invalid" and found[300].line == 301
    states = [i.state for i in ok[:1000]]
    assert states.count("redeemed") == 3 and states.count("redeemable") == 497
    assert states.count("not_activated") == 500
    assert ok[-1].state == "redeemed" and ok[-1].redemption.phone == MASKED


def test_reads_through_a_session_and_writes_nothing(shop, redeemer) -> None:
    redeemer.redeem(shop.code(3), phone=PHONE)
    with pytest.raises(AlreadyRedeemed):
        redeemer.redeem(shop.code(3), phone=OTHER_PHONE)
    before = {**shop.snapshot(), **{t: shop.count(t) for t in ("clone_alerts", "events",
                                                             "scan_failures", "activations")}}
    with shop.ctx.session() as s:
        found = lookup(s, [_visible(shop, 3), "nonsense", shop.code(9)], shop.ctx.visible_salt())
        assert not s.new and not s.dirty
    assert [i.status for i in found] == ["ok", "invalid", "invalid"]
    after = {**shop.snapshot(), **{t: shop.count(t) for t in ("clone_alerts", "events",
                                                            "scan_failures", "activations")}}
    assert after == before


def test_mask_phone() -> None:
    assert mask_phone(PHONE_E164) == MASKED
    assert mask_phone("+14155552671") == "+1*******671"
    results = doctest.testmod(lookup_module)
    assert results.failed == 0 and results.attempted >= 3


# --- the command ---------------------------------------------------------------------


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No key anywhere: the lookup needs none."""
    monkeypatch.delenv("LOYALCODE_KEY", raising=False)
    monkeypatch.setenv("LOYALCODE_KEY_FILE", str(tmp_path / "absent.key"))
    monkeypatch.chdir(tmp_path)


def test_cli_json_without_a_key(cli, shop, redeemer, no_key) -> None:
    redeemer.redeem(shop.code(2), phone=PHONE, region="31")
    r = cli("lookup", _visible(shop, 2), _visible(shop, 600), "--json")
    assert r.exit_code == 0, r.stderr
    first, second = r.json_lines()
    assert set(first) == set(second) == KEYS | {"timezone"}  # the CLI names the zone
    assert first | {"activated_at": None, "redemption": None} == {
        "timezone": "Asia/Shanghai",
        "line": 1, "status": "ok", "message": None, "visible": _visible(shop, 2),
        "serial": shop.serial_start + 1, "state": "redeemed",
        "batch": {"id": shop.batch, "sku": "SERUM-50", "name": "Serum 50 ml", "status": "active",
                  "redeem_from": None, "redeem_until": None},
        "seq": 2, "channel": "GD-DIST", "activated_at": None, "activations": 1,
        "redemption": None, "clone_alert": None, "case": None, "pallet": None, "shipments": [],
    }
    assert first["redemption"] | {"redeemed_at": None} == {
        "redeemed_at": None, "member": 1, "phone": MASKED, "points": 10, "channel": "GD-DIST",
        "purchase_channel": None, "scan_region": "31", "diversion": True,
    }
    assert dt.datetime.fromisoformat(first["redemption"]["redeemed_at"]).tzinfo is not None
    assert (second["state"], second["seq"], second["channel"]) == ("not_activated", 600, None)
    _full_phones_absent(r.stdout + r.stderr)
    # the same environment refuses what needs the key: the lookup really ran without one
    assert cli("check", shop.code(1), "--json").json()["error"]["code"] == "key_missing"


def test_cli_text(cli, shop, redeemer, no_key) -> None:
    redeemer.redeem(shop.code(3), phone=PHONE)
    redeemer.redeem(shop.code(4), phone=OTHER_PHONE)
    with pytest.raises(AlreadyRedeemed):
        redeemer.redeem(shop.code(3), phone=OTHER_PHONE)
    r = cli("lookup", _visible(shop, 3))
    assert r.exit_code == 0 and r.stderr == ""
    (line,) = r.stdout.splitlines()
    fields = line.split("\t")
    assert fields[:4] == [_visible(shop, 3), "redeemed", f"serial {shop.serial_start + 2}",
                          f"batch {shop.batch} SERUM-50 (Serum 50 ml), active"]
    assert fields[4] == "seq 3" and fields[5].startswith("channel GD-DIST since ")
    assert f"by member 1 ({MASKED}), 10 points via GD-DIST" in fields[6]
    assert fields[7].startswith("CLONE ALERT ") and fields[7].endswith("scanned again by member 2")
    _full_phones_absent(r.stdout + r.stderr)


def test_cli_invalid_input_is_never_echoed(cli, shop, no_key) -> None:
    code = shop.code(5)
    pretty = f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}"
    for args in (("lookup", code, _visible(shop, 1)), ("lookup", pretty, _visible(shop, 1), "--json")):
        r = cli(*args)
        assert r.exit_code == 1
        for text_ in (code, pretty, code.lower()):
            assert text_ not in r.stdout and text_ not in r.stderr
        assert r.stderr == "1 of 2 inputs are not visible serials of this deployment (input 1).\n"
    lines = r.json_lines()
    assert (lines[0]["status"], lines[0]["message"], lines[0]["visible"]) == ("invalid", NOT_A_SERIAL, None)
    assert (lines[1]["status"], lines[1]["state"]) == ("ok", "redeemable")
    r = cli("lookup", code)
    assert r.stdout == f"input 1\tinvalid\t{NOT_A_SERIAL}\n"


def test_cli_stdin(cli, shop, redeemer, no_key) -> None:
    redeemer.redeem(shop.code(10), phone=PHONE)
    lines = [_visible(shop, seq) for seq in range(1, 1001)]
    lines[499] = shop.code(500)  # a hidden code among them
    stdin = "\n".join(lines[:700]) + "\n\n  \n" + "\r\n".join(lines[700:]) + "\n"
    r = cli("lookup", "-", "--json", stdin=stdin)
    assert r.exit_code == 1
    assert shop.code(500) not in r.stdout + r.stderr
    body = r.json_lines()
    assert [b["line"] for b in body] == list(range(1, 1001))  # blank lines are skipped
    assert [b["seq"] for b in body if b["status"] == "ok"] == [s for s in range(1, 1001) if s != 500]
    assert body[499]["status"] == "invalid"
    assert body[9]["state"] == "redeemed" and body[9]["redemption"]["phone"] == MASKED
    assert sum(b["state"] == "redeemable" for b in body) == 498
    r = cli("lookup", "-", stdin="\n".join(lines[500:510]) + "\n")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 10


def test_cli_has_help(cli) -> None:
    r = cli("lookup", "--help")
    assert r.exit_code == 0 and "visible serial" in r.stdout.lower() and "--json" in r.stdout


def test_cli_text_window_and_unactivated(cli, shop, no_key) -> None:
    _, start = shop.batch_with(redeem_until="2020-01-31", activate=False)
    r = cli("lookup", _visible(shop, 1, start))
    assert r.exit_code == 0
    fields = r.stdout.rstrip("\n").split("\t")
    assert fields[1] == "expired"
    assert fields[3].endswith(", created, redeems until 2020-01-31 (Asia/Shanghai)")
    assert fields[5] == "not activated (0 activations)"
