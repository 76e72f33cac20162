"""Redemption throughput: the library against hand-written SQL, in the same run.

    python benchmarks/bench_redeem.py                 # SQLite 1 process, PostgreSQL 16
    python benchmarks/bench_redeem.py --db sqlite --n 20000 --json

For each database it builds a fresh, migrated deployment (a temporary SQLite file, or
a fresh schema in ``LOYALCODE_BENCH_POSTGRES_URL``, default the test database), with
1,000 members and a batch of activated codes, then measures:

* ``library``: ``Redeemer.redeem(code, phone=...)`` on distinct valid codes (throttle,
  decode, state checks, member, redemption + ledger + balance + events, commit);
* ``baseline``: the same database through the bare driver (sqlite3 / psycopg), the
  statements written by hand: insert redemption, insert ledger, update balance, commit;
* ``reject``: ``Redeemer.redeem`` of forged codes with no identity (no query at all;
  refused as ``identity_required`` before the decode since issue 11), and bare
  ``decode_scan`` of the same codes.

How the two are kept comparable on a shared, noisy machine:

* one SQLite process runs the library and the baseline interleaved, block by block, so
  CPU steal weighs on both alike; the baseline's connection is set up as the library's
  (WAL, synchronous=NORMAL, foreign keys enforced as PostgreSQL always does);
* each PostgreSQL process makes ``WARM`` scans before the common start line
  (connections, prepared statements, plans: what a long-running service has), starts
  its members at its own offset (16 shops crediting 16 members, not one member 16
  times at once), and the two arms swap order every repeat.

Rates are measured scans / wall time from a common start line; latency percentiles are
per call. Each figure is the median of ``--repeat`` runs; the ratio compares medians.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import PG_URL, interleave, pg_available, scratch_database

MEMBERS = 1000


def phone(i: int) -> str:
    return f"+86139{i:08d}"


# --- setup -------------------------------------------------------------------------


def make_database(kind: str, quantity: int) -> tuple[str, dict[str, Any], Any]:
    """A fresh deployment: url, facts (batch, serial ranges, member ids), cleanup."""
    from sqlalchemy import text

    from loyalcode.channels.activation import activate
    from loyalcode.channels.batches import create_batch
    from loyalcode.channels.tree import add_channel
    from loyalcode.store.context import open_context
    from loyalcode.store.deployment import init_deployment

    url, cleanup = scratch_database(kind)
    ctx = open_context(url)
    init_deployment(ctx)
    with ctx.session() as s, s.begin():
        add_channel(s, "GD", name="Guangdong", kind="distributor", region="44")
        lib = create_batch(s, sku="BENCH", quantity=quantity, points=10,
                           payload_template="HTTPS://LC.EXAMPLE.COM/C/{code}")
        raw = create_batch(s, sku="RAW", quantity=quantity, points=10,
                           payload_template="HTTPS://LC.EXAMPLE.COM/C/{code}")
        activate(s, lib.id, channel="GD")
        activate(s, raw.id, channel="GD")
        facts = {"lib_batch": lib.id, "lib_start": lib.serial_start,
                 "raw_batch": raw.id, "raw_start": raw.serial_start}
    with ctx.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO members (phone, balance, created_at) VALUES (:p, 0, CURRENT_TIMESTAMP)"),
            [{"p": phone(i)} for i in range(MEMBERS)],
        )
        ids = conn.execute(text("SELECT id FROM members ORDER BY id")).scalars().all()
    facts["member_ids"] = list(ids)
    ctx.dispose()
    return url, facts, cleanup


# --- workers -----------------------------------------------------------------------


def library_runner(url: str) -> tuple[Any, Any]:
    """``(run, close)``: ``run(codes, offset)`` redeems each code through the library and
    returns its per-call latencies."""
    from loyalcode.redemption import Redeemer

    redeemer = Redeemer(url)
    with redeemer.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        conn.rollback()

    def run(codes: list[str], offset: int) -> list[float]:
        lat = []
        for i, code in enumerate(codes, offset):
            s = time.perf_counter()
            redeemer.redeem(code, phone=phone(i % MEMBERS))
            lat.append(time.perf_counter() - s)
        return lat

    return run, redeemer.close


def baseline_runner(url: str, batch_id: int, member_ids: list[int]) -> tuple[Any, Any]:
    """``(run, close)``: hand-written SQL through the bare driver, the floor the library
    is measured by: insert redemption, insert ledger, update balance, commit."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    if url.startswith("sqlite"):
        conn = sqlite_connect(url)
        ph = "?"
        stamp: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        begin, commit = (lambda: conn.execute("BEGIN IMMEDIATE")), (lambda: conn.execute("COMMIT"))
        cur = conn
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        ph = "%s"
        stamp = now
        begin, commit = (lambda: None), conn.commit
        cur = conn.cursor()
    ins_r = (f"INSERT INTO redemptions (serial, batch_id, member_id, channel_id, points, diversion, "
             f"redeemed_at) VALUES ({ph}, {ph}, {ph}, NULL, 10, false, {ph})")
    ins_l = (f"INSERT INTO ledger (member_id, delta, kind, reason, redemption_serial, created_at) "
             f"VALUES ({ph}, 10, 'earn', 'code redeemed', {ph}, {ph})")
    upd = f"UPDATE members SET balance = balance + 10 WHERE id = {ph}"

    def run(serials: list[int], offset: int) -> list[float]:
        lat = []
        for i, serial in enumerate(serials, offset):
            member = member_ids[i % len(member_ids)]
            s = time.perf_counter()
            begin()
            cur.execute(ins_r, (serial, batch_id, member, stamp))
            cur.execute(ins_l, (member, serial, stamp))
            cur.execute(upd, (member,))
            commit()
            lat.append(time.perf_counter() - s)
        return lat

    return run, conn.close


#: Scans each process makes before the common start line (not measured): connections,
#: server-side prepared statements and plans, as a long-running service has them.
WARM = 20


def library_worker(url: str, codes: list[str], offset: int, barrier: Any, out: Any) -> None:
    run, close = library_runner(url)
    run(codes[:WARM], offset)
    barrier.wait()
    t0 = time.perf_counter()
    lat = run(codes[WARM:], offset + WARM)
    out.put((t0, time.perf_counter(), lat))
    close()


def baseline_worker(url: str, serials: list[int], batch_id: int, member_ids: list[int],
                    offset: int, barrier: Any, out: Any) -> None:
    run, close = baseline_runner(url, batch_id, member_ids)
    run(serials[:WARM], offset)
    barrier.wait()
    t0 = time.perf_counter()
    lat = run(serials[WARM:], offset + WARM)
    out.put((t0, time.perf_counter(), lat))
    close()


def interleaved(url: str, codes: list[str], serials: list[int], batch_id: int,
                member_ids: list[int], blocks: int) -> tuple[dict[str, float], dict[str, float]]:
    """One process, the library and the baseline interleaved block by block
    (:func:`bench_common.interleave`). Rates are scans / summed block time."""
    lib_run, lib_close = library_runner(url)
    raw_run, raw_close = baseline_runner(url, batch_id, member_ids)
    warm = min(200, len(codes) // 10)  # connections, statement caches: not measured
    lib_run(codes[:warm], 0)
    raw_run(serials[:warm], 0)
    done = interleave(
        {"library": lambda lo, hi: lib_run(codes[lo:hi], lo),
         "baseline": lambda lo, hi: raw_run(serials[lo:hi], lo)},
        warm, len(codes), -(-(len(codes) - warm) // blocks),
    )
    lib_close()
    raw_close()
    lib, raw = done["library"], done["baseline"]
    return _stats(len(lib["out"]) / lib["wall"], lib["out"]), _stats(len(raw["out"]) / raw["wall"], raw["out"])


def _stats(rate: float, lat: list[float]) -> dict[str, float]:
    lat = sorted(lat)
    return {
        "rate": rate,
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
    }


def sqlite_connect(url: str) -> Any:
    """The baseline's connection, set up as the library's engine sets up its own
    (``loyalcode.store.db``): WAL, synchronous=NORMAL and the schema's foreign keys
    enforced, as PostgreSQL always enforces them. ``--sqlite-no-fk`` turns them off."""
    import sqlite3

    conn = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA synchronous=NORMAL")
    fk = os.environ.get("LOYALCODE_BENCH_SQLITE_FK", "1") == "1"
    conn.execute(f"PRAGMA foreign_keys={'ON' if fk else 'OFF'}")
    return conn


def run_procs(target: Any, per_proc_args: list[tuple[Any, ...]]) -> dict[str, float]:
    spawn = mp.get_context("spawn")
    barrier = spawn.Barrier(len(per_proc_args))
    out = spawn.Queue()
    procs = [spawn.Process(target=target, args=(*a, barrier, out)) for a in per_proc_args]
    for p in procs:
        p.start()
    parts = [out.get(timeout=900) for _ in procs]
    for p in procs:
        p.join()
    start = min(p[0] for p in parts)
    end = max(p[1] for p in parts)
    lat = [x for p in parts for x in p[2]]
    return _stats(len(lat) / (end - start), lat)


def split(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[i::parts] for i in range(parts)]


# --- the benchmark -------------------------------------------------------------------


def bench_db(kind: str, procs: int, n: int, repeat: int) -> dict[str, Any]:
    from loyalcode.codegen.codec import codes_for_range
    from loyalcode.store.context import open_context

    url, facts, cleanup = make_database(kind, n * repeat)
    try:
        keyring = open_context(url).keyring()
        lib_runs, raw_runs = [], []
        for r in range(repeat):
            first = facts["lib_start"] + r * n
            codes = list(codes_for_range(keyring, first, first + n))
            serials = list(range(facts["raw_start"] + r * n, facts["raw_start"] + (r + 1) * n))
            if procs == 1:  # one process: interleave the two, block by block
                lib, raw = interleaved(url, codes, serials, facts["raw_batch"],
                                       facts["member_ids"], blocks=20)
                lib_runs.append(lib)
                raw_runs.append(raw)
                continue
            # Process p starts its members at p * MEMBERS / procs, so that at any instant the
            # processes credit different members (as many shops do), not all the same one.
            starts = [p * MEMBERS // procs for p in range(procs)]
            arms = [
                (lib_runs, library_worker,
                 [(url, c, o) for c, o in zip(split(codes, procs), starts)]),
                (raw_runs, baseline_worker,
                 [(url, s, facts["raw_batch"], facts["member_ids"], o)
                  for s, o in zip(split(serials, procs), starts)]),
            ]
            for runs, worker, args in arms if r % 2 == 0 else arms[::-1]:  # alternate the order
                runs.append(run_procs(worker, args))
        check_consistency(url)
    finally:
        cleanup()
    lib = {k: statistics.median(x[k] for x in lib_runs) for k in lib_runs[0]}
    raw = {k: statistics.median(x[k] for x in raw_runs) for k in raw_runs[0]}
    return {"db": kind, "processes": procs, "n": n, "repeat": repeat,
            "library": lib, "baseline": raw, "ratio": lib["rate"] / raw["rate"]}


def check_consistency(url: str) -> None:
    """After a run: one ledger entry per redemption, balances equal ledger sums."""
    from sqlalchemy import text

    from loyalcode.store.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        bad = conn.execute(text(
            "SELECT count(*) FROM members m WHERE m.balance <> "
            "(SELECT coalesce(sum(delta), 0) FROM ledger l WHERE l.member_id = m.id)"
        )).scalar_one()
        red, led = conn.execute(text(
            "SELECT (SELECT count(*) FROM redemptions), (SELECT count(*) FROM ledger)"
        )).one()
        conn.rollback()
    engine.dispose()
    assert bad == 0 and red == led, (bad, red, led)


def bench_reject(n: int, repeat: int) -> dict[str, Any]:
    """Forged codes: the Redeemer with no identity (no query; since issue 11 refused as
    ``identity_required`` before the decode), and bare decode."""
    from loyalcode.codegen.checkchar import calc_check_symbol
    from loyalcode.codegen.codec import decode_scan
    from loyalcode.codegen.codeformat import ALPHABET
    from loyalcode.errors import RedemptionError
    from loyalcode.redemption import Redeemer

    url, _, cleanup = make_database("sqlite", 10)
    try:
        redeemer = Redeemer(url)
        rng = secrets.SystemRandom()
        forged = []
        for _ in range(n):
            body = "".join(rng.choice(ALPHABET) for _ in range(15))
            forged.append(body + calc_check_symbol(body))
        out: dict[str, Any] = {}
        for name, fn in (("library", redeemer.redeem),
                         ("decode_only", lambda s: decode_scan(redeemer._keyring, s))):
            rates = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                for scan in forged:
                    try:
                        fn(scan)
                    except RedemptionError:
                        pass
                rates.append(n / (time.perf_counter() - t0))
            out[name] = {"rate": statistics.median(rates)}
        redeemer.close()
    finally:
        cleanup()
    return {"db": "none", "n": n, "repeat": repeat, **out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--n", type=int, default=0, help="scans per run (default 20000 SQLite, 16000 PG)")
    parser.add_argument("--procs", type=int, default=16, help="client processes for PostgreSQL")
    parser.add_argument("--sqlite-procs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reject-n", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOYALCODE_KEY", secrets.token_hex(32))
    os.environ.setdefault("LOYALCODE_KEY_FILE", str(Path(tempfile.gettempdir()) / "no-such.key"))

    results = []
    if args.db in ("sqlite", "both"):
        results.append(bench_db("sqlite", args.sqlite_procs, args.n or 20_000, args.repeat))
    if args.db in ("postgres", "both"):
        if pg_available():
            results.append(bench_db("postgres", args.procs, args.n or 16_000, args.repeat))
        else:
            print(f"PostgreSQL at {PG_URL} not reachable: skipped", file=sys.stderr)
    reject = bench_reject(args.reject_n, args.repeat)

    if args.json:
        print(json.dumps({"redeem": results, "reject": reject}, indent=2))
        return 0
    print(f"{'database':<10} {'procs':>5} {'what':<9} {'rate/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}")
    for r in results:
        for what in ("library", "baseline"):
            f = r[what]
            ratio = f"{r['ratio']:.0%}" if what == "library" else ""
            print(f"{r['db']:<10} {r['processes']:>5} {what:<9} {f['rate']:>9,.0f} "
                  f"{f['p50_ms']:>8.2f} {f['p99_ms']:>8.2f} {ratio:>6}")
    print(f"forged, no identity: library {reject['library']['rate']:,.0f}/s, "
          f"decode only {reject['decode_only']['rate']:,.0f}/s (no database query)")
    print(f"medians of {results[0]['repeat'] if results else args.repeat} runs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
