"""Activation spans: the map a scan reads equals "the newest activation covering a
serial wins" over the whole history, whatever the order and overlap of activations."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from loyalcode.channels.activation import activate, activation_history
from loyalcode.channels.batches import create_batch
from loyalcode.channels.sql import BATCH_FROM
from loyalcode.store.sql import render
from tests.shop import TEMPLATE

QUANTITY = 40
CHANNELS = ("GD-DIST", "GZ-WHOLE", "SH-SHOP")

_CHANNEL_OF_SERIAL = "SELECT b.id, a.activation_id, c.code " + BATCH_FROM


def newest_wins(history: list[Any], serial: int) -> str | None:
    """The reference: the channel of the newest effective entry covering ``serial``
    (an undo and the entry it undid count as neither; no channel: not activated)."""
    covering = [a for a in history if a.serial_start <= serial < a.serial_end
                and a.undoes is None and a.undone_by is None]
    return max(covering, key=lambda a: a.id).channel if covering else None


def spans_of(ctx: Any, batch: int) -> list[tuple[int, int]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT serial_start, serial_end FROM activation_spans WHERE batch_id = :b "
                 "ORDER BY serial_start"), {"b": batch}
        ).all()
        conn.rollback()
    return [(int(s), int(e)) for s, e in rows]


def assert_map_matches_history(ctx: Any, batch: int) -> None:
    with ctx.session() as s:
        history = activation_history(s, batch)
        info = s.execute(text("SELECT serial_start, serial_end FROM batches WHERE id = :b"),
                         {"b": batch}).one()
    spans = spans_of(ctx, batch)
    # disjoint, inside the batch, and no more of them than two per activation
    assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(spans))
    assert all(info.serial_start <= s < e <= info.serial_end for s, e in spans)
    assert len(spans) <= 2 * len(history)
    sql = render(_CHANNEL_OF_SERIAL, ctx.engine.dialect.name == "postgresql")
    with ctx.engine.connect() as conn:
        cur = conn.connection.driver_connection.cursor()
        for serial in range(info.serial_start, info.serial_end):
            cur.execute(sql, {"serial": serial})
            batch_id, _, channel = cur.fetchone()
            assert batch_id == batch
            assert channel == newest_wins(history, serial), serial
        conn.rollback()


activations = st.lists(
    st.tuples(st.integers(1, QUANTITY), st.integers(0, QUANTITY), st.sampled_from(CHANNELS)),
    min_size=1, max_size=10,
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=activations)
def test_spans_equal_newest_activation_wins(shop, steps) -> None:
    with shop.ctx.session() as s, s.begin():
        batch = create_batch(s, sku="TEA-250", quantity=QUANTITY, points=5,
                             payload_template=TEMPLATE).id
    for first, length, channel in steps:
        last = min(QUANTITY, first + length)
        with shop.ctx.session() as s, s.begin():
            activate(s, batch, channel=channel, seq_from=first, seq_to=last)
    assert_map_matches_history(shop.ctx, batch)


def test_a_scan_reads_the_latest_of_many_activations(shop, redeemer) -> None:
    """Carton by carton: 200 activations of 5 codes, then a re-shipment of a range that
    cuts through cartons; each code redeems for the channel that shipped it last."""
    with shop.ctx.session() as s, s.begin():
        for carton in range(200):
            activate(s, shop.batch, channel="GD-DIST", seq_from=carton * 5 + 1, seq_to=carton * 5 + 5)
        activate(s, shop.batch, channel="GZ-WHOLE", seq_from=503, seq_to=917)
    assert len(spans_of(shop.ctx, shop.batch)) <= 200 + 2
    for seq, channel in ((1, "GD-DIST"), (502, "GD-DIST"), (503, "GZ-WHOLE"), (917, "GZ-WHOLE"),
                         (918, "GD-DIST"), (1000, "GD-DIST")):
        assert redeemer.redeem(shop.code(seq), phone="13800138000").channel == channel
    assert_map_matches_history(shop.ctx, shop.batch)


def test_concurrent_activations_of_one_batch_take_turns(shop, db_url) -> None:
    """Eight overlapping activations of one batch at once, each in its own connection:
    they take turns (PostgreSQL: the batch row lock; SQLite: the writer lock), so the
    map still equals the history."""
    from loyalcode.store.context import open_context

    start = threading.Barrier(8)

    def ship(i: int) -> None:
        ctx = open_context(db_url)
        try:
            start.wait()
            with ctx.session() as s, s.begin():
                activate(s, shop.batch, channel=CHANNELS[i % 3], seq_from=1 + i * 90, seq_to=400 + i * 70)
        finally:
            ctx.dispose()

    with ThreadPoolExecutor(8) as pool:
        for done in [pool.submit(ship, i) for i in range(8)]:
            done.result()  # re-raises what failed in the thread
    assert_map_matches_history(shop.ctx, shop.batch)


def test_migration_0006_replays_existing_activations(empty_db_url, key_env) -> None:
    """A database at 0005 with overlapping activations (history only): the upgrade
    lays them into spans as activate() would have, and a downgrade drops them."""
    from sqlalchemy import inspect

    from loyalcode.migrations.metadata import drift
    from loyalcode.store import db
    from loyalcode.store.context import open_context

    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO channels (code, name, kind, region) VALUES "
                              "('A', 'a', 'distributor', '44'), ('B', 'b', 'wholesaler', '4401')"))
            conn.execute(text(
                "INSERT INTO batches (sku, name, quantity, points, serial_start, serial_end, status, "
                "payload_template, created_at) VALUES ('S', 'S', 100, 1, 1000, 1100, 'active', "
                "'{code}', CURRENT_TIMESTAMP)"
            ))
            batch = conn.execute(text("SELECT id FROM batches")).scalar_one()
            chans = dict(conn.execute(text("SELECT code, id FROM channels")).all())
            for start, end, code in ((1000, 1100, "A"), (1020, 1040, "B"), (1030, 1080, "A"),
                                     (1035, 1036, "B"), (1090, 1100, "B")):
                conn.execute(text(
                    "INSERT INTO activations (batch_id, serial_start, serial_end, channel_id, "
                    "created_at) VALUES (:b, :s, :e, :c, CURRENT_TIMESTAMP)"
                ), {"b": batch, "s": start, "e": end, "c": chans[code]})
        db.upgrade(engine)
        assert drift(engine) == []
    finally:
        engine.dispose()
    ctx = open_context(empty_db_url)
    try:
        assert spans_of(ctx, batch) == [(1000, 1020), (1020, 1030), (1030, 1035), (1035, 1036),
                                        (1036, 1080), (1080, 1090), (1090, 1100)]
        assert_map_matches_history(ctx, batch)
        db.downgrade(ctx.engine, "0005")
        assert "activation_spans" not in inspect(ctx.engine).get_table_names()
    finally:
        ctx.dispose()


def test_activation_waiting_on_a_void_sees_it(shop, db_url) -> None:
    """A batch voided in a transaction still open while an activation of it starts:
    the activation waits for the batch lock, then sees the void and refuses."""
    import time

    from loyalcode.codegen.batches import void_batch
    from loyalcode.codegen.errors import BatchVoid
    from loyalcode.store.context import open_context

    voider, shipper = open_context(db_url), open_context(db_url)
    pool = ThreadPoolExecutor(1)

    def ship() -> None:
        with shipper.session() as s2, s2.begin():
            activate(s2, shop.batch, channel="GZ-WHOLE", seq_from=1, seq_to=10)

    try:
        with voider.session() as s, s.begin():
            void_batch(s, shop.batch)  # flushed, not committed: the row is locked
            pending = pool.submit(ship)
            time.sleep(0.5)  # let it read the batch and queue for the lock
            assert not pending.done()
        # the void committed: the activation that waited refuses
        with pytest.raises(BatchVoid):
            pending.result(timeout=30)
    finally:
        pool.shutdown()
        voider.dispose()
        shipper.dispose()
    with shop.ctx.session() as s:
        assert [a.channel for a in activation_history(s, shop.batch)] == ["GD-DIST"]
