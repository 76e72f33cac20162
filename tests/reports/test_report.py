"""Reports checked against counts computed here, independently, from the raw rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import pytest

from loyalcode.channels.activation import activate
from loyalcode.errors import RedemptionError
from loyalcode.loyalty.gifts import add_gift, cancel_order, redeem_gift
from loyalcode.reports.report import build_report
from loyalcode.store.timeutil import from_db
from tests.loyal import CST, T0, Loyal, phone


@pytest.fixture
def market(loyal: Loyal) -> Loyal:
    shop = loyal.shop
    with shop.ctx.session() as s, s.begin():
        activate(s, shop.batch, channel="GZ-WHOLE", seq_from=401, seq_to=600)  # moves 401..500
        activate(s, shop.batch, channel="SH-SHOP", seq_from=700, seq_to=710)
    b2, b2_start = shop.batch_with(sku="TEA-250", quantity=100, points=5)
    regions = [None, "440100", "310000", "110000"]
    for i, seq in enumerate([1, 2, 3, 4, 5, 402, 450, 599, 700, 705]):
        when = T0 + dt.timedelta(hours=10 * i)  # over three Shanghai days
        loyal.redeemer.redeem(shop.code(seq), phone=phone(i % 3), region=regions[i % 4], now=when)
    for seq in (1, 2, 3):
        loyal.redeemer.redeem(shop.code(seq, b2_start), phone=phone(5), region="310000",
                              now=T0 + dt.timedelta(days=1))
    for seq in (1, 402):  # clone attempts: another member scans a redeemed code
        with pytest.raises(RedemptionError):
            loyal.redeemer.redeem(shop.code(seq), phone=phone(9), now=T0 + dt.timedelta(days=2))
    m = loyal.member(phone(0))
    loyal.complete(m)
    with loyal.tx() as conn:
        add_gift(conn, sku="MUG", name="Mug", points=30, stock=5, now=T0)
        redeem_gift(conn, m, "MUG", loyal.settings, T0)
        order = redeem_gift(conn, m, "MUG", loyal.settings, T0).order
        cancel_order(conn, order, loyal.settings, T0)
    loyal.b2 = b2  # type: ignore[attr-defined]
    return loyal


def _expected(loyal: Loyal, by: str, batch: int | None = None) -> dict[Any, dict[str, Any]]:
    """Figures per group from the raw rows, serial by serial."""
    batches = {r.id: r for r in loyal.rows("SELECT id, quantity, serial_start, serial_end FROM batches")}
    channels = {r.id: r for r in loyal.rows("SELECT id, code, region FROM channels")}
    owner: dict[int, int] = {}
    for a in loyal.rows("SELECT id, batch_id, channel_id, serial_start, serial_end FROM activations ORDER BY id"):
        if batch is None or a.batch_id == batch:
            for s in range(a.serial_start, a.serial_end):
                owner[s] = a.channel_id  # later activations overwrite
    batch_of = {s: b.id for b in batches.values() for s in range(b.serial_start, b.serial_end)}

    def key(batch_id: int, channel_id: int | None, at: Any) -> Any:
        if by == "batch":
            return batch_id
        if by == "channel":
            return channels[channel_id].code if channel_id else None
        if by == "region":
            return channels[channel_id].region if channel_id else None
        when = dt.datetime.fromisoformat(at) if isinstance(at, str) else at  # SQLite: text
        return from_db(when).astimezone(CST).date().isoformat()

    out: dict[Any, dict[str, Any]] = defaultdict(Counter)
    if by != "day":
        for s, ch in owner.items():
            out[key(batch_of[s], ch, None)]["codes_activated"] += 1
    red = loyal.rows("SELECT serial, batch_id, channel_id, points, diversion, redeemed_at FROM redemptions")
    for r in red:
        if batch is None or r.batch_id == batch:
            g = out[key(r.batch_id, r.channel_id, r.redeemed_at)]
            g["codes_redeemed"] += 1
            g["points_issued"] += r.points
            g["diversion_alerts"] += bool(r.diversion)
    by_serial = {r.serial: r for r in red}
    for c in loyal.rows("SELECT serial, batch_id, created_at FROM clone_alerts"):
        if batch is None or c.batch_id == batch:
            out[key(c.batch_id, by_serial[c.serial].channel_id, c.created_at)]["clone_alerts"] += 1
    return out


FIGURES = ("codes_activated", "codes_redeemed", "points_issued", "diversion_alerts", "clone_alerts")


@pytest.mark.parametrize("by", ["batch", "channel", "region", "day"])
def test_report_matches_the_rows(market: Loyal, by: str) -> None:
    loyal = market
    with loyal.engine.connect() as conn:
        report = build_report(conn, by=by, tz=CST)
        conn.rollback()
    expected = _expected(loyal, by)
    name = {"batch": "batch", "channel": "channel", "region": "region", "day": "day"}[by]
    got = {row.key[name]: row for row in report.rows}
    assert set(got) == set(expected)
    for k, want in expected.items():
        row = got[k].to_dict()
        for f in FIGURES:
            if by == "day" and f == "codes_activated":
                assert row[f] is None
            else:
                assert row[f] == want.get(f, 0), (k, f)
        if row["codes_activated"]:
            assert row["redemption_rate"] == round(want["codes_redeemed"] / want["codes_activated"], 6)
    assert loyal.scalar("SELECT count(*) FROM redemptions WHERE diversion") > 0
    t = report.totals
    assert t["codes_issued"] == 1100 and t["codes_activated"] == 711 and t["codes_redeemed"] == 13
    assert t["clone_alerts"] == 2 and t["points_spent"] == 30 and t["points_refunded"] == 30
    assert t["points_bonus"] == 100 and t["points_expired"] == 0
    if by == "day":
        assert sum(r.points_spent or 0 for r in report.rows) == 30


def test_report_for_one_batch(market: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    loyal = market
    batch = loyal.shop.batch
    for by in ("batch", "channel", "day"):
        r = cli("report", "--batch", str(batch), "--by", by, "--json")
        assert r.exit_code == 0, r.stderr
        body = r.json()
        expected = _expected(loyal, by, batch)
        assert {row[by]: row["codes_redeemed"] for row in body["rows"]} == {
            k: v.get("codes_redeemed", 0) for k, v in expected.items()
        }
    assert body["totals"]["codes_issued"] == 1000 and body["totals"]["codes_redeemed"] == 10
    r = cli("report", "--by", "colour", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "invalid_input"
    r = cli("report", "--batch", "999")
    assert r.exit_code == 1 and r.stderr.startswith("error [batch_not_found]")
    r = cli("report")
    assert r.exit_code == 0 and "SERUM-50" in r.stdout
