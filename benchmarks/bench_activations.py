"""A scan's channel when batches are shipped carton by carton: spans against history.

    python benchmarks/bench_activations.py                      # SQLite and PostgreSQL
    python benchmarks/bench_activations.py --db sqlite --activations 1 5000 50000

A warehouse activates what it ships, often one carton or pallet at a time, so a batch
of a million codes can have tens of thousands of activations. For each count, a fresh
deployment gets one batch of ``activations × 100`` codes activated through
``activate()`` one 100-code carton at a time, then measures, interleaved block by block:

* ``library``: ``Redeemer.redeem`` of distinct valid codes spread over the whole batch;
* ``spans``: the library's channel lookup alone (``sql.BATCH_FROM``: one probe of the
  ``activation_spans`` index), on the bare driver;
* ``history``: the naive lookup it replaced, the newest activation covering the serial
  read from the history (``max(id)`` over the batch's activations starting at or below
  the serial), on the bare driver.

Rates are lookups (or redemptions) per second; the ratio is spans / history.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_redeem as b
from bench_common import interleave, pg_available

CARTON = 100

#: The lookup before activation spans (migration 0006): linear in the batch's activations.
HISTORY_FROM = (
    "FROM (SELECT 1 AS one) AS x "
    "LEFT JOIN batches b ON b.id = (SELECT b2.id FROM batches b2 WHERE b2.serial_start <= :serial "
    " ORDER BY b2.serial_start DESC LIMIT 1) "
    "LEFT JOIN activations a ON a.id = (SELECT max(a2.id) FROM activations a2 "
    " WHERE a2.batch_id = b.id AND a2.serial_start <= :serial AND a2.serial_end > :serial) "
    "LEFT JOIN channels c ON c.id = a.channel_id"
)


def lookup_runner(url: str, from_sql: str) -> tuple[Any, Any]:
    """``(run, close)``: ``run(serials)`` reads each serial's batch and channel."""
    from loyalcode.store.sql import render

    pg = url.startswith("postgresql")
    sql = render("SELECT b.id, c.code " + from_sql, pg)
    if pg:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    else:
        conn = b.sqlite_connect(url)
    cur = conn.cursor()

    def run(serials: list[int]) -> None:
        for serial in serials:
            cur.execute(sql, {"serial": serial})
            assert cur.fetchone()[1] == "GD"

    return run, conn.close


def bench(kind: str, activations: int, n: int) -> dict[str, Any]:
    from loyalcode.channels.activation import activate
    from loyalcode.channels.batches import create_batch
    from loyalcode.channels.sql import BATCH_FROM
    from loyalcode.codegen.codec import codes_for_range
    from loyalcode.store.context import open_context

    url, _facts, cleanup = b.make_database(kind, 10)
    try:
        ctx = open_context(url)
        quantity = activations * CARTON
        t0 = time.perf_counter()
        with ctx.session() as s, s.begin():
            big = create_batch(s, sku="CARTONS", quantity=quantity, points=10,
                               payload_template="HTTPS://LC.EXAMPLE.COM/C/{code}")
            for carton in range(activations):
                activate(s, big.id, channel="GD", seq_from=carton * CARTON + 1,
                         seq_to=(carton + 1) * CARTON)
            start = big.serial_start
        activate_s = time.perf_counter() - t0
        keyring = ctx.keyring()
        ctx.dispose()
        step = max(1, quantity // n)
        serials = [start + (i * step) % quantity for i in range(n)]
        codes = list(codes_for_range(keyring, start, start + quantity))
        scan = [codes[s - start] for s in sorted(set(serials))]
        lib_run, lib_close = b.library_runner(url)
        spans_run, spans_close = lookup_runner(url, BATCH_FROM)
        hist_run, hist_close = lookup_runner(url, HISTORY_FROM)
        arms = {
            "library": lambda lo, hi: lib_run(scan[lo:hi], lo),
            "spans": lambda lo, hi: spans_run(serials[lo:hi]),
            "history": lambda lo, hi: hist_run(serials[lo:hi]),
        }
        done = interleave(arms, 0, min(len(scan), n), max(1, min(len(scan), n) // 10))
        lib_close()
        spans_close()
        hist_close()
    finally:
        cleanup()
    count = min(len(scan), n)
    rates = {name: count / d["wall"] for name, d in done.items()}
    return {"db": kind, "activations": activations, "codes": quantity, "n": count,
            "activate_per_s": activations / activate_s, **{f"{k}_per_s": v for k, v in rates.items()},
            "spans_vs_history": rates["spans"] / rates["history"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--activations", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--n", type=int, default=3000, help="scans (and lookups) per arm")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOYALCODE_KEY", secrets.token_hex(32))
    os.environ.setdefault("LOYALCODE_KEY_FILE", str(Path(tempfile.gettempdir()) / "no-such.key"))
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not pg_available():
        print("PostgreSQL not reachable: skipped", file=sys.stderr)
        kinds.remove("postgres")
    results = [bench(kind, a, args.n) for kind in kinds for a in args.activations]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'db':<9} {'activations':>11} {'redeem/s':>9} {'spans/s':>9} {'history/s':>10} "
          f"{'ratio':>7} {'activate/s':>10}")
    for r in results:
        print(f"{r['db']:<9} {r['activations']:>11,} {r['library_per_s']:>9,.0f} "
              f"{r['spans_per_s']:>9,.0f} {r['history_per_s']:>10,.0f} "
              f"{r['spans_vs_history']:>6.1f}x {r['activate_per_s']:>10,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
