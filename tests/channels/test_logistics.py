"""Cases, pallets and shipping, on SQLite and PostgreSQL: aggregation by sequence and by
upload, shipping as activation, returns, repacking, and what a scan then says."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from biip.sscc import Sscc
from sqlalchemy import select, text

from loyalcode.channels import aggregation, cases, shipping
from loyalcode.channels.activation import visible_serials
from loyalcode.channels.batches import create_batch
from loyalcode.channels.cases import Gs1Settings
from loyalcode.channels.errors import ShipmentClosed, ShipmentEmpty, SsccSpaceExhausted
from loyalcode.channels.models import CaseContent
from loyalcode.channels.tree import add_channel
from loyalcode.errors import LoyalcodeError
from loyalcode.redemption.errors import NotActivated
from tests.shop import PHONE, TEMPLATE, Shop

GS1 = Gs1Settings(company_prefix="0614141", extension=1)
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def new_batch(shop: Shop, quantity: int = 96) -> tuple[int, int]:
    with shop.ctx.session() as s, s.begin():
        b = create_batch(s, sku="TEA-250", quantity=quantity, points=5, payload_template=TEMPLATE)
        return b.id, b.serial_start


def pack(shop: Shop, batch: int, per_case: int = 24, per_pallet: int | None = 2) -> cases.PackResult:
    with shop.ctx.session() as s, s.begin():
        return cases.pack_by_sequence(s, GS1, batch, per_case=per_case,
                                      cases_per_pallet=per_pallet, now=T0)


def channel_of(shop: Shop, serial: int) -> str | None:
    with shop.ctx.engine.connect() as conn:
        value = conn.execute(text(
            "SELECT c.code FROM activation_spans a JOIN channels c ON c.id = a.channel_id "
            "WHERE a.serial_start <= :s AND a.serial_end > :s"), {"s": serial}).scalar()
        conn.rollback()
    return value


def visible(shop: Shop, serial: int) -> str:
    with shop.ctx.session() as s:
        return visible_serials(s).encode(serial)


def test_create_allocates_consecutive_valid_ssccs(shop: Shop) -> None:
    with shop.ctx.session() as s, s.begin():
        first = cases.create_units(s, GS1, cases=3, pallets=1)
    with shop.ctx.session() as s, s.begin():
        second = cases.create_units(s, GS1, cases=2)
    refs = [int(c[8:17]) for c in first.cases + first.pallets + second.cases]
    assert refs == [0, 1, 2, 3, 4, 5]
    assert first.cases[0] == "106141410000000002"  # check digit by GS1 mod 10
    assert Sscc.parse(first.cases[0]).company_prefix.value == "0614141"  # type: ignore[union-attr]
    tiny = Gs1Settings(company_prefix="061414112345")  # a 4-digit serial reference
    with shop.ctx.session() as s, s.begin():
        cases.create_units(s, tiny, cases=9_999)
    with shop.ctx.session() as s, s.begin(), pytest.raises(SsccSpaceExhausted) as err:
        cases.create_units(s, tiny, cases=2)
    assert err.value.facts["remaining"] == 1


def test_pack_ship_a_pallet_and_redeem_a_unit_inside(shop: Shop, redeemer: Any) -> None:
    batch, start = new_batch(shop)
    packed = pack(shop, batch)
    assert len(packed.cases) == 4 and len(packed.pallets) == 2
    with shop.ctx.session() as s:
        assert s.scalar(select(text("count(*)")).select_from(CaseContent)) == 4
        report = cases.describe(s, packed.pallets[1])
    assert report.units == 48 and [(r.seq_from, r.seq_to) for r in report.contents] == [(49, 72), (73, 96)]
    with shop.ctx.session() as s, s.begin():
        done = shipping.ship(s, "GZ-WHOLE", [packed.pallets[1]], visible_serials(s), actor="wh1", now=T0)
    assert done.status == "closed" and done.units == 48 and done.channel == "GZ-WHOLE"
    assert channel_of(shop, start + 48) == "GZ-WHOLE" and channel_of(shop, start + 47) is None
    result = redeemer.redeem(shop.code(60, start), phone=PHONE)
    assert result.channel == "GZ-WHOLE" and result.diversion is False
    with pytest.raises(NotActivated):
        redeemer.redeem(shop.code(48, start), phone=PHONE)


def test_diversion_alert_names_the_case_and_the_shipment(shop: Shop, redeemer: Any) -> None:
    batch, start = new_batch(shop)
    packed = pack(shop, batch)
    with shop.ctx.session() as s, s.begin():
        done = shipping.ship(s, "GZ-WHOLE", [packed.cases[0]], visible_serials(s), now=T0)
    result = redeemer.redeem(shop.code(5, start), phone=PHONE, region="310101")  # Shanghai
    assert result.diversion is True
    with shop.ctx.engine.connect() as conn:
        payload = conn.execute(text("SELECT payload FROM events WHERE type = 'diversion_alert'")).scalar_one()
        conn.rollback()
    import json

    body = json.loads(payload) if isinstance(payload, str) else payload
    assert body["case"] == packed.cases[0] and body["pallet"] == packed.pallets[0]
    assert body["shipment"] == done.id


def test_repeated_scan_changes_nothing(shop: Shop) -> None:
    batch, start = new_batch(shop)
    packed = pack(shop, batch)
    first = visible(shop, start)
    with shop.ctx.session() as s, s.begin():
        serials = visible_serials(s)
        opened = shipping.open_shipment(s, "GD-DIST", actor="wh1", now=T0)
        a = shipping.add_scan(s, opened.id, packed.cases[1], serials)
        b = shipping.add_scan(s, opened.id, f"(00) {packed.cases[1]}", serials)
        u = shipping.add_scan(s, opened.id, first, serials)
        u2 = shipping.add_scan(s, opened.id, first.lower(), serials)
    assert (a.added, b.added, a.units, b.units) == (True, False, 24, 24)
    assert (u.added, u2.added, u.kind) == (True, False, "unit")
    with shop.ctx.session() as s:
        assert shipping.shipment_info(s, opened.id).scans == 2
    with shop.ctx.session() as s, s.begin():
        closed = shipping.close_shipment(s, opened.id, actor="wh2")
    assert closed.units == 25 and closed.closed_by == "wh2"
    with shop.ctx.session() as s, s.begin(), pytest.raises(ShipmentClosed):
        shipping.add_scan(s, opened.id, packed.cases[0], visible_serials(s))
    with shop.ctx.session() as s, s.begin():
        empty = shipping.open_shipment(s, "GD-DIST")
    with shop.ctx.session() as s, s.begin(), pytest.raises(ShipmentEmpty):
        shipping.close_shipment(s, empty.id)


def test_return_then_scan_is_not_activated_or_in_the_warehouse(shop: Shop, redeemer: Any) -> None:
    batch, start = new_batch(shop)
    packed = pack(shop, batch)
    unit = visible(shop, start + 30)
    with shop.ctx.session() as s, s.begin():
        add_channel(s, "WH-01", name="Warehouse", kind="distributor", region="44")
        shipping.ship(s, "GZ-WHOLE", packed.pallets, visible_serials(s), now=T0)
    with shop.ctx.session() as s, s.begin():
        back = shipping.return_units(s, [packed.cases[0]], visible_serials(s))
        moved = shipping.return_units(s, [unit], visible_serials(s),
                                      to_channel="WH-01")
    assert back.kind == "return" and back.channel is None and back.units == 24
    assert moved.channel == "WH-01" and moved.units == 1
    with pytest.raises(NotActivated):
        redeemer.redeem(shop.code(3, start), phone=PHONE)
    assert channel_of(shop, start + 30) == "WH-01"
    assert channel_of(shop, start + 29) == "GZ-WHOLE" and channel_of(shop, start + 24) == "GZ-WHOLE"
    with shop.ctx.session() as s:
        refs = shipping.shipments_of(s, batch, start + 30)
    assert [(r.kind, r.channel) for r in refs] == [("ship", "GZ-WHOLE"), ("return", "WH-01")]


def test_repack_moves_exactly_the_moved_units(shop: Shop) -> None:
    batch, start = new_batch(shop)
    packed = pack(shop, batch)
    units = [f"{batch}:{n}" for n in (3, 4, 5, 20)] + [visible(shop, start + 40)]
    with shop.ctx.session() as s, s.begin():
        done = aggregation.move(s, units + [f"{batch}:4"], packed.cases[3], visible_serials(s))
    assert done.units == 5 and done.unchanged == 0
    with shop.ctx.session() as s:
        first, second, last = (cases.describe(s, packed.cases[i]) for i in (0, 1, 3))
    assert [(r.seq_from, r.seq_to) for r in first.contents] == [(1, 2), (6, 19), (21, 24)]
    assert [(r.seq_from, r.seq_to) for r in second.contents] == [(25, 40), (42, 48)]
    assert [(r.seq_from, r.seq_to) for r in last.contents] == [(3, 5), (20, 20), (41, 41), (73, 96)]
    assert [h.what for h in last.history].count("moved_in") == 3
    assert "moved_out" in [h.what for h in first.history]
    with shop.ctx.session() as s, s.begin():
        again = aggregation.move(s, [f"{batch}:3"], packed.cases[3], visible_serials(s))
    assert (again.units, again.unchanged) == (0, 1)
    # shipping the case now ships what it holds, not what it was packed with
    with shop.ctx.session() as s, s.begin():
        shipping.ship(s, "SH-SHOP", [packed.cases[3]], visible_serials(s), now=T0)
    assert channel_of(shop, start + 2) == "SH-SHOP" and channel_of(shop, start + 1) is None


# --- uploads ----------------------------------------------------------------------------


def upload(shop: Shop, lines: list[str]) -> aggregation.UploadResult:
    with shop.ctx.session() as s, s.begin():
        return aggregation.upload(s, lines, visible_serials(s), actor="line-3", now=T0)


def contents_rows(shop: Shop) -> int:
    return shop.count("case_contents")


def test_upload_stores_runs_and_pallets(shop: Shop) -> None:
    batch, start = new_batch(shop, 48)
    with shop.ctx.session() as s, s.begin():
        made = cases.create_units(s, GS1, cases=2, pallets=1)
    c1, c2 = made.cases
    (p1,) = made.pallets
    lines = ["case,unit"] + [f"{c1},{batch}:{n}" for n in range(1, 25) if n != 7]
    lines += [f"{c2},{batch}:{n}" for n in range(25, 49)] + [f"{c2},{visible(shop, start + 6)}"]
    lines += ["", "# pallets", f"{p1},{c1}", f"{p1}\t{c2}"]
    done = upload(shop, lines)
    assert (done.units, done.unchanged, done.cases_on_pallets) == (48, 0, 2)
    assert done.rows == contents_rows(shop) == 4  # 1..6, 8..24, 7 (in case 2), 25..48
    again = upload(shop, lines)
    assert (again.units, again.unchanged, again.rows) == (0, 48, 0)
    with shop.ctx.session() as s:
        report = cases.describe(s, p1)
    assert report.units == 48 and report.cases == (c1, c2)


def _bad_lines(batch: int, void_batch: int, c1: str, c2: str, p1: str, p2: str,
               unknown_case: str) -> dict[str, tuple[list[str], int]]:
    good = [f"{c1},{batch}:1", f"{c1},{batch}:2", f"{p1},{c1}"]
    return {
        "invalid_sscc": (good + [f"{c1[:-1]}0,{batch}:3"], 4),
        "sscc_not_found": (good + [f"{unknown_case},{batch}:3"], 4),
        "unit_not_found": (good + [f"{c1},{batch}:99999"], 4),
        "unit_not_found/batch": (good + [f"{c1},9999:1"], 4),
        "unit_not_found/visible": (good + [f"{c1},NOT-A-SERIAL!"], 4),
        "unit_in_two_cases": (good + [f"{c2},{batch}:5", f"{c1},{batch}:5"], 5),
        "case_on_two_pallets": (good + [f"{p2},{c1}"], 4),
        "batch_void": (good + [f"{c2},{void_batch}:1"], 4),
        "wrong_unit_kind": (good + [f"{p1},{batch}:3"], 4),
        "invalid_input": (good + ["just one field"], 4),
    }


@pytest.mark.parametrize("kind", list(_bad_lines(0, 0, "", "", "", "", "").keys()))
def test_each_bad_line_refuses_the_whole_upload(shop: Shop, kind: str) -> None:
    batch, _ = new_batch(shop, 48)
    void_batch, _ = new_batch(shop, 10)
    from loyalcode.codegen.batches import void_batch as void

    with shop.ctx.session() as s, s.begin():
        made = cases.create_units(s, GS1, cases=3, pallets=2)
        void(s, void_batch)
    c1, c2, _ = made.cases
    p1, p2 = made.pallets
    unknown = cases.gs1.build(extension=1, company_prefix="0614141", reference=999_999)
    lines, line = _bad_lines(batch, void_batch, c1, c2, p1, p2, unknown)[kind]
    before = {t: shop.count(t) for t in ("case_contents", "packings")}
    with pytest.raises(LoyalcodeError) as err:
        upload(shop, lines)
    assert err.value.code == kind.split("/")[0]
    assert err.value.facts["line"] == line and err.value.message.startswith(f"Line {line}: ")
    assert {t: shop.count(t) for t in before} == before
    with shop.ctx.session() as s:
        assert cases.get_unit(s, c1).pallet_id is None


def test_a_unit_already_in_another_case_is_refused(shop: Shop) -> None:
    batch, _ = new_batch(shop, 48)
    pack(shop, batch, per_pallet=None)
    with shop.ctx.session() as s, s.begin():
        (other,) = cases.create_units(s, GS1, cases=1).cases
    with pytest.raises(LoyalcodeError) as err:
        upload(shop, [f"{other},{batch}:30", f"{other},{batch}:31"])
    assert err.value.code == "unit_in_two_cases" and err.value.facts["line"] == 1


def test_lookup_shows_case_pallet_and_shipments(shop: Shop) -> None:
    from loyalcode.reports.lookup import lookup

    batch, start = new_batch(shop)
    packed = pack(shop, batch)
    unit = visible(shop, start + 26)
    with shop.ctx.session() as s, s.begin():
        first = shipping.ship(s, "GD-DIST", [packed.pallets[0]], visible_serials(s), now=T0)
        second = shipping.ship(s, "GZ-WHOLE", [unit], visible_serials(s), now=T0)
    with shop.ctx.engine.connect() as conn:
        salt = conn.execute(text("SELECT visible_salt FROM deployment")).scalar_one()
        (info,) = lookup(conn, [unit], salt)
        conn.rollback()
    assert info.case == packed.cases[1] and info.pallet == packed.pallets[0]
    assert [(r.id, r.channel) for r in info.shipments] == [(first.id, "GD-DIST"), (second.id, "GZ-WHOLE")]
    assert info.to_dict()["shipments"][1]["kind"] == "ship" and info.channel == "GZ-WHOLE"
