"""Where a SQLite redemption's time goes: the library, its own SQL alone, the baseline.

    python benchmarks/bench_redeem_floor.py [--n 12000] [--block 400]

Three arms on one fresh SQLite deployment (see bench_redeem.py), in one process,
interleaved block by block (the order rotating every block) so that CPU steal and
noisy neighbours on a shared machine weigh on every arm alike:

* ``library``: ``Redeemer.redeem`` of distinct valid codes by known members;
* ``library SQL``: the statements the library runs for such a scan (BEGIN IMMEDIATE,
  the state query, insert redemption, insert ledger, update balance, insert the
  ``points_earned`` event, COMMIT), replayed on the bare sqlite3 driver with no Python
  logic: the floor for this design;
* ``baseline``: the issue's hand-written insert redemption, insert ledger, update
  balance, commit (bench_redeem.py's baseline, same connection settings).

The gap between the first two is the library's Python; the gap between the last two is
what the design reads and writes beyond the baseline (the state and throttle read, the
event). Wall and CPU time (``time.process_time``) per scan are both shown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_redeem as b
from bench_common import interleave


def sql_replay(url: str, state_sql: str, facts: dict[str, Any]) -> Any:
    """``run(serials, offset)``: the library's statements on the bare driver."""
    from loyalcode.redemption import redeem as r

    conn = b.sqlite_connect(url)
    cur = conn.cursor()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    payload = ('{"member": 1, "phone": "+8613900000001", "serial": 1, "batch": 1, '
               '"sku": "BENCH", "points": 10, "channel": "GD", "tier": null, "balance": 10}')
    members = facts["member_ids"]
    batch = facts["sql_batch"]

    def run(serials: list[int], offset: int) -> None:
        for i, serial in enumerate(serials, offset):
            member = members[i % len(members)]
            state = {"phone": b.phone(i % b.MEMBERS), "openid": None, "source": None,
                     "limit": 10, "cutoff": 0, "serial": serial}
            cur.execute("BEGIN IMMEDIATE")
            cur.execute(state_sql, state).fetchone()
            cur.execute(r._SQLITE_INSERT_REDEMPTION,
                        (serial, batch, member, 1, None, 10, None, False, None, stamp))
            cur.execute(r._SQLITE_INSERT_LEDGER, (member, 10, serial, stamp))
            cur.execute(r._SQLITE_ADD_BALANCE, (10, member))
            cur.execute(r._SQLITE_INSERT_EVENT, (member, payload, stamp))
            cur.execute("COMMIT")

    return run, conn.close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12000, help="scans per arm")
    parser.add_argument("--block", type=int, default=400)
    args = parser.parse_args()
    n, block = args.n, args.block
    os.environ.setdefault("LOYALCODE_KEY", os.urandom(32).hex())
    from sqlalchemy import text

    from loyalcode.channels.activation import activate
    from loyalcode.channels.batches import create_batch
    from loyalcode.codegen.codec import codes_for_range
    from loyalcode.redemption import Redeemer
    from loyalcode.store.context import open_context
    from loyalcode.store.keys import Keyring

    warm = 200
    url, facts, cleanup = b.make_database("sqlite", n + warm)
    try:
        ctx = open_context(url)
        with ctx.session() as s, s.begin():  # a third batch for the SQL replay
            extra = create_batch(s, sku="SQL", quantity=n + warm, points=10,
                                 payload_template="HTTPS://LC.EXAMPLE.COM/C/{code}")
            activate(s, extra.id, channel="GD")
            facts["sql_batch"], facts["sql_start"] = extra.id, extra.serial_start
        with ctx.engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM channels WHERE code = 'GD'")).scalar() == 1
            conn.rollback()
        ctx.dispose()
        keyring = Keyring(bytes.fromhex(os.environ["LOYALCODE_KEY"]))
        codes = list(codes_for_range(keyring, facts["lib_start"], facts["lib_start"] + n + warm))
        lib_run, lib_close = b.library_runner(url)
        redeemer_sql = Redeemer(url)
        phone_only = redeemer_sql._state[1]  # the state query for a phone, no openid, no source
        sql_run, sql_close = sql_replay(url, phone_only, facts)
        redeemer_sql.close()
        raw_run, raw_close = b.baseline_runner(url, facts["raw_batch"], facts["member_ids"])
        arms = {
            "library": lambda lo, hi: lib_run(codes[lo:hi], lo),
            "library SQL": lambda lo, hi: sql_run(list(range(facts["sql_start"] + lo, facts["sql_start"] + hi)), lo),
            "baseline": lambda lo, hi: raw_run(list(range(facts["raw_start"] + lo, facts["raw_start"] + hi)), lo),
        }
        for go in arms.values():  # warm up: connections, statement caches
            go(0, warm)
        done = interleave(arms, warm, warm + n, block)
        lib_close()
        sql_close()
        raw_close()
    finally:
        cleanup()
    print(f"{'arm':<12} {'wall us':>8} {'cpu us':>8} {'per s':>8} {'vs baseline':>12}")
    for name in arms:
        wall, cpu = done[name]["wall"], done[name]["cpu"]
        print(f"{name:<12} {wall / n * 1e6:8.0f} {cpu / n * 1e6:8.0f} "
              f"{n / wall:8,.0f} {done['baseline']['wall'] / wall:12.0%}")


if __name__ == "__main__":
    main()
