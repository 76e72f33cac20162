"""Report speed on a database with a million redemptions, against a naive baseline.

    python benchmarks/bench_report.py                       # SQLite and PostgreSQL
    python benchmarks/bench_report.py --db sqlite --rows 1000000 --repeat 5 --json

Builds a fresh, migrated database (a temporary SQLite file, or a fresh schema in
``LOYALCODE_BENCH_POSTGRES_URL``, default the test database) with 40 channels, 20
batches of 100,000 codes activated in 60 ranges (some re-activated), 100,000 members,
``--rows`` redemptions (2% diversions) over 90 days, 1,000 clone alerts and 2,000 gift
orders; bulk-loaded with executemany (SQLite) or COPY (PostgreSQL). Then, for each
grouping, times ``build_report`` (what ``loyalcode report --by X --json`` runs) and
the same for one batch, against a naive baseline: a Python loop per batch that reads
that batch's redemption rows and adds them up. Figures are medians of ``--repeat``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import scratch_database

BATCHES, PER_BATCH, CHANNELS, MEMBERS = 20, 100_000, 40, 100_000
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _rows(n: int, seed: int = 7) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(seed)
    now = T0.strftime("%Y-%m-%d %H:%M:%S.%f")
    channels = [(i, f"CH-{i}", f"Channel {i}", "distributor", f"{31 + i % 10}{i % 20:02d}", None, now)
                for i in range(1, CHANNELS + 1)]
    batches, activations, owner = [], [], {}
    aid = 0
    for b in range(1, BATCHES + 1):
        start = 1 + (b - 1) * PER_BATCH
        batches.append((b, start, start + PER_BATCH, PER_BATCH, f"SKU-{b}", f"Product {b}", None, 10,
                        None, "active", "HTTPS://X/{code}", now))
        cuts = sorted(rng.sample(range(1, PER_BATCH), 2))
        for lo, hi in ((0, cuts[0]), (cuts[0], cuts[1]), (cuts[1], PER_BATCH)):
            aid += 1
            ch = rng.randint(1, CHANNELS)
            activations.append((aid, b, start + lo, start + hi, ch, now))
            for s in range(start + lo, start + hi):
                owner[s] = ch
    serials = rng.sample(range(1, 1 + BATCHES * PER_BATCH), n)
    members = [(i, f"+86139{i:08d}", 0, None, now) for i in range(1, MEMBERS + 1)]
    redemptions = []
    for i, s in enumerate(serials, 1):
        at = T0 + dt.timedelta(seconds=rng.randint(0, 90 * 86400))
        redemptions.append((i, s, (s - 1) // PER_BATCH + 1, rng.randint(1, MEMBERS), owner[s], None, 10,
                            "110000" if rng.random() < 0.02 else None, rng.random() < 0.02, None,
                            at.strftime("%Y-%m-%d %H:%M:%S.%f")))
    clones = [(i, s, (s - 1) // PER_BATCH + 1, 1, 2, now) for i, s in enumerate(serials[:1000], 1)]
    return {"channels": channels, "batches": batches, "activations": activations,
            "members": members, "redemptions": redemptions, "clone_alerts": clones}


COLUMNS = {
    "channels": "id, code, name, kind, region, parent_id, created_at",
    "batches": "id, serial_start, serial_end, quantity, sku, name, gtin, points, channel_id, status, "
               "payload_template, created_at",
    "activations": "id, batch_id, serial_start, serial_end, channel_id, created_at",
    "members": "id, phone, balance, merged_into_id, created_at",
    "redemptions": "id, serial, batch_id, member_id, channel_id, purchase_channel_id, points, "
                   "scan_region, diversion, source, redeemed_at",
    "clone_alerts": "id, serial, batch_id, redeemed_by_id, attempted_by_id, created_at",
}


def _load(engine: Any, data: dict[str, list[tuple[Any, ...]]]) -> float:
    t = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        pg = engine.dialect.name == "postgresql"
        for table, rows in data.items():
            cols = COLUMNS[table]
            if pg:
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(cols.split(",")))
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        if pg:
            for table in ("channels", "batches", "activations", "members", "redemptions", "clone_alerts"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            raw.commit()
            cur.execute("ANALYZE")
        else:
            raw.commit()
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - t


def _gift_orders(engine: Any) -> None:
    from sqlalchemy import text

    from loyalcode.loyalty import points
    from loyalcode.loyalty.gifts import add_gift

    with engine.begin() as conn:
        add_gift(conn, sku="MUG", name="Mug", points=10, stock=10_000, now=T0)
        for m in range(1, 2001):  # orders written directly: the report reads orders' ledger refs
            conn.execute(text("UPDATE members SET balance = balance + 10 WHERE id = :m"), {"m": m})
            order = conn.execute(text(
                "INSERT INTO gift_orders (gift_id, member_id, quantity, points, status, created_at) "
                "VALUES (1, :m, 1, 10, 'placed', :now) RETURNING id"), {"m": m, "now": T0}).scalar_one()
            points.take_balance(conn, m, 10)
            points.append(conn, m, -10, "gift", f"gift order {order}", T0, order_id=order)


def naive(engine: Any, by: str, batch: int | None) -> dict[Any, list[int]]:
    """The baseline: per batch, read its redemption rows and add them up in Python."""
    from sqlalchemy import text

    with engine.connect() as conn:
        batches = [r.id for r in conn.execute(text("SELECT id FROM batches ORDER BY id"))]
        channels = {r.id: r.region for r in conn.execute(text("SELECT id, region FROM channels"))}
        out: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
        for b in batches if batch is None else [batch]:
            rows = conn.execute(text(
                "SELECT channel_id, points, diversion, redeemed_at FROM redemptions WHERE batch_id = :b"
            ), {"b": b})
            for ch, pts, div, at in rows:
                key = {"batch": b, "channel": ch, "region": channels.get(ch),
                       "day": str(at)[:10]}[by]
                acc = out[key]
                acc[0] += 1
                acc[1] += pts
                acc[2] += bool(div)
        conn.rollback()
    return out


def _median(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(kind: str, n: int, repeat: int) -> dict[str, Any]:
    from loyalcode.reports.report import build_report
    from loyalcode.store import db

    url, cleanup = scratch_database(kind)
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        t = time.perf_counter()
        data = _rows(n)
        gen = time.perf_counter() - t
        load = _load(engine, data)
        _gift_orders(engine)
        out: dict[str, Any] = {"db": kind, "redemptions": n, "generate_s": round(gen, 1),
                               "load_s": round(load, 1), "figures": {}}
        for by in ("batch", "channel", "region", "day"):
            for batch in (None, 7):
                def lib(by: str = by, batch: Any = batch) -> Any:
                    with engine.connect() as conn:
                        r = build_report(conn, by=by, batch=batch)
                        conn.rollback()
                        return r

                report = lib()
                base = naive(engine, by, batch)
                assert sum(r.codes_redeemed for r in report.rows) == sum(v[0] for v in base.values())
                lib_s = _median(lib, repeat)
                base_s = _median(lambda by=by, batch=batch: naive(engine, by, batch), max(1, repeat // 2))
                name = f"by {by}" + (f", batch {batch}" if batch else "")
                out["figures"][name] = {"report_s": round(lib_s, 3), "naive_s": round(base_s, 3),
                                        "speedup": round(base_s / lib_s, 1)}
                print(f"{kind:8} {name:22} report {lib_s:7.3f} s   naive {base_s:7.3f} s   "
                      f"x{base_s / lib_s:5.1f}", file=sys.stderr)
        return out
    finally:
        engine.dispose()
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = [run(k, args.rows, args.repeat) for k in kinds]
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
