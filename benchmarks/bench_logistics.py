"""Aggregation upload and shipment close, against a naive baseline in the same run.

    python benchmarks/bench_logistics.py                  # PostgreSQL, 1,000,000 pairs
    python benchmarks/bench_logistics.py --db sqlite --pairs 200000 --json

* ``upload``: ``aggregation.upload`` of ``--pairs`` ``CASE,BATCH:SEQ`` lines (24 units a
  case, 1% of units swapped with a unit of another case: out of order), read from a
  file, checked whole and written (COPY on PostgreSQL) in one transaction; pairs/s,
  the content rows written per pair, and the growth of peak RSS;
* ``naive``: the same pairs as one row per unit (``INSERT ... VALUES`` executemany
  through SQLAlchemy Core into a (case_id, serial UNIQUE) table), on the first
  ``--naive`` pairs; pairs/s;
* ``close``: shipments of one pallet of 40 cases × 24 units each, opened, scanned
  and closed in one transaction (what ``loyalcode ship`` does); the median time.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import scratch_database

from loyalcode.channels import aggregation, cases, shipping
from loyalcode.channels.activation import visible_serials
from loyalcode.channels.batches import create_batch
from loyalcode.channels.tree import add_channel
from loyalcode.store.context import open_context
from loyalcode.store.deployment import init_deployment

KEY = "7c1f0a9e3b5d4c2a8e6f1b0d9c7a5e3f2b4d6c8a0e1f3b5d7c9a2e4f6b8d0c1a"
GS1 = cases.Gs1Settings(company_prefix="0614141")
PER_CASE = 24


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(kind: str, pairs: int, naive: int, shipments: int) -> dict[str, Any]:
    import os

    os.environ["LOYALCODE_KEY"] = KEY
    url, cleanup = scratch_database(kind)
    try:
        ctx = open_context(url)
        init_deployment(ctx)
        with ctx.session() as s, s.begin():
            add_channel(s, "GD-DIST", name="GD", kind="distributor", region="44")
            batch = create_batch(s, sku="B", quantity=pairs, points=1, payload_template="{code}").id
            made = cases.create_units(s, GS1, cases=-(-pairs // PER_CASE))
        case_of = [(i // PER_CASE) for i in range(pairs)]
        rng = random.Random(7)
        for i in rng.sample(range(pairs), pairs // 200):  # 0.5% swaps: 1% of units moved
            j = rng.randrange(pairs)
            case_of[i], case_of[j] = case_of[j], case_of[i]
        moved = sum(1 for i, c in enumerate(case_of) if c != i // PER_CASE)
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            path = f.name
            for i, c in enumerate(case_of):
                f.write(f"{made.cases[c]},{batch}:{i + 1}\n")
        del case_of
        before = rss_mb()
        t0 = time.perf_counter()
        with ctx.session() as s, s.begin(), open(path) as lines:
            done = aggregation.upload(s, lines, visible_serials(s))
        upload_s = time.perf_counter() - t0
        grown = rss_mb() - before
        # naive: one row per unit, the same pairs, through Core executemany
        from sqlalchemy import text

        with ctx.engine.begin() as conn:
            conn.execute(text("CREATE TABLE naive_pairs (case_id INTEGER NOT NULL, "
                              "serial BIGINT NOT NULL UNIQUE)"))
        rows = []
        with open(path) as lines:
            ids = dict(ctx.engine.connect().execute(text(
                "SELECT sscc, id FROM logistic_units")).all())
            for k, line in enumerate(lines):
                if k >= naive:
                    break
                sscc, _, unit = line.strip().partition(",")
                rows.append({"c": ids[sscc], "s": int(unit.partition(":")[2])})
        t0 = time.perf_counter()
        with ctx.engine.begin() as conn:
            conn.execute(text("INSERT INTO naive_pairs (case_id, serial) VALUES (:c, :s)"), rows)
        naive_s = time.perf_counter() - t0
        Path(path).unlink()
        # close: one pallet of 40 cases x 24 a shipment
        with ctx.session() as s, s.begin():
            ship_batch = create_batch(s, sku="P", quantity=40 * PER_CASE * shipments, points=1,
                                      payload_template="{code}").id
            packed = cases.pack_by_sequence(s, GS1, ship_batch, per_case=PER_CASE,
                                            cases_per_pallet=40)
        times = []
        for pallet in packed.pallets:
            t0 = time.perf_counter()
            with ctx.session() as s, s.begin():
                info = shipping.ship(s, "GD-DIST", [pallet], visible_serials(s))
            times.append(time.perf_counter() - t0)
            assert info.units == 40 * PER_CASE
        ctx.dispose()
        return {
            "db": kind, "pairs": pairs, "units_out_of_order": moved,
            "upload_seconds": round(upload_s, 2), "upload_pairs_per_s": round(pairs / upload_s),
            "content_rows": done.rows, "rows_per_pair": round(done.rows / pairs, 4),
            "upload_rss_growth_mb": round(grown, 1),
            "naive_pairs": len(rows), "naive_pairs_per_s": round(len(rows) / naive_s),
            "speedup": round((pairs / upload_s) / (len(rows) / naive_s), 1),
            "close_40x24_ms_median": round(statistics.median(times) * 1000, 1),
            "close_40x24_ms_max": round(max(times) * 1000, 1),
        }
    finally:
        cleanup()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--naive", type=int, default=200_000)
    ap.add_argument("--shipments", type=int, default=9)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = run(args.db, args.pairs, args.naive, args.shipments)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
