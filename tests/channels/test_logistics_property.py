"""A property: for random pack, ship, return and repack sequences, every unit's channel
(as a scan reads it: the activation spans) and case equal a naive replay of the history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from loyalcode.channels import aggregation, cases, shipping
from loyalcode.channels.activation import visible_serials
from loyalcode.channels.batches import create_batch
from loyalcode.channels.cases import Gs1Settings
from tests.shop import TEMPLATE, Shop

GS1 = Gs1Settings(company_prefix="0614141")
N, PER_CASE = 24, 4  # 6 cases, on 3 pallets of 2
CHANNELS = ("GD-DIST", "GZ-WHOLE", "SH-SHOP")

ship_op = st.tuples(st.just("ship"), st.sampled_from(CHANNELS),
                    st.lists(st.one_of(st.tuples(st.just("case"), st.integers(0, 5)),
                                       st.tuples(st.just("pallet"), st.integers(0, 2)),
                                       st.tuples(st.just("unit"), st.integers(1, N))),
                             min_size=1, max_size=4))
return_op = st.tuples(st.just("return"), st.sampled_from((None, "GD-DIST")),
                      st.lists(st.one_of(st.tuples(st.just("case"), st.integers(0, 5)),
                                         st.tuples(st.just("unit"), st.integers(1, N))),
                               min_size=1, max_size=3))
move_op = st.tuples(st.just("move"), st.integers(0, 5),
                    st.lists(st.integers(1, N), min_size=1, max_size=5))
OPS = st.lists(st.one_of(ship_op, return_op, move_op), min_size=1, max_size=8)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
def test_channels_and_cases_equal_a_naive_replay(shop: Shop, ops: list[Any]) -> None:
    with shop.ctx.session() as s, s.begin():
        b = create_batch(s, sku="P", quantity=N, points=1, payload_template=TEMPLATE)
        batch, base = b.id, b.serial_start
        packed = cases.pack_by_sequence(s, GS1, batch, per_case=PER_CASE, cases_per_pallet=2)
    # the naive model: a dict per unit, replayed op by op
    case_of = {seq: (seq - 1) // PER_CASE for seq in range(1, N + 1)}
    channel: dict[int, str | None] = dict.fromkeys(case_of)
    t = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)

    def units_of(scans: list[tuple[str, int]]) -> set[int]:
        out: set[int] = set()
        for kind, i in scans:
            if kind == "unit":
                out.add(i)
            elif kind == "case":
                out |= {u for u, c in case_of.items() if c == i}
            else:
                out |= {u for u, c in case_of.items() if c // 2 == i}
        return out

    def code(kind: str, i: int, serials: Any) -> str:
        if kind == "unit":
            return serials.encode(base + i - 1) if i % 2 else f"{batch}:{i}"
        return packed.cases[i] if kind == "case" else packed.pallets[i]

    for step, op in enumerate(ops):
        now = t + dt.timedelta(minutes=step)
        with shop.ctx.session() as s, s.begin():
            serials = visible_serials(s)
            if op[0] == "ship":
                _, to, scans = op
                shipping.ship(s, to, [code(k, i, serials) for k, i in scans], serials, now=now)
                for u in units_of(scans):
                    channel[u] = to
            elif op[0] == "return":
                _, to, scans = op
                shipping.return_units(s, [code(k, i, serials) for k, i in scans], serials,
                                      to_channel=to, now=now)
                for u in units_of(scans):
                    channel[u] = to
            else:
                _, target, seqs = op
                aggregation.move(s, [f"{batch}:{q}" for q in seqs], packed.cases[target],
                                 serials, now=now)
                for q in seqs:
                    case_of[q] = target

    with shop.ctx.engine.connect() as conn:
        spans = conn.execute(text(
            "SELECT a.serial_start, a.serial_end, c.code FROM activation_spans a "
            "JOIN channels c ON c.id = a.channel_id WHERE a.batch_id = :b"), {"b": batch}).all()
        contents = conn.execute(text(
            "SELECT cc.serial_start, cc.serial_end, u.sscc FROM case_contents cc "
            "JOIN logistic_units u ON u.id = cc.case_id WHERE cc.batch_id = :b"), {"b": batch}).all()
        conn.rollback()
    seen: dict[int, str | None] = dict.fromkeys(case_of)
    for start, end, ch in spans:
        for serial in range(start, end):
            seen[serial - base + 1] = ch
    assert seen == channel
    held = {}
    for start, end, sscc in contents:
        for serial in range(start, end):
            held[serial - base + 1] = packed.cases.index(sscc)
    assert held == case_of
