"""Where a SQLite redemption's time goes: the library, its own SQL alone, the baseline.

    python benchmarks/bench_redeem_floor.py [--n 4000]

Three runs in one process on one fresh SQLite deployment (see bench_redeem.py):

* ``library``: ``Redeemer.redeem`` of distinct valid codes by known members;
* ``library SQL``: the statements the library runs for such a scan (BEGIN IMMEDIATE,
  the state query, insert redemption, insert ledger, update balance, insert the
  ``points_earned`` event, COMMIT), replayed on the bare sqlite3 driver with no Python
  logic: the floor for this design;
* ``baseline``: the issue's hand-written insert redemption, insert ledger, update
  balance, commit.

The gap between the first two is the library's Python; the gap between the last two is
what the design writes beyond the baseline (the state and throttle read, the event).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_redeem as b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    n = parser.parse_args().n
    os.environ.setdefault("LOYALCODE_KEY", os.urandom(32).hex())
    from loyalcode.codegen.codec import codes_for_range
    from loyalcode.codegen.keys import Keyring
    from loyalcode.redemption import Redeemer

    url, facts, cleanup = b.make_database("sqlite", 3 * n + 200)
    try:
        keyring = Keyring(bytes.fromhex(os.environ["LOYALCODE_KEY"]))
        codes = list(codes_for_range(keyring, facts["lib_start"], facts["lib_start"] + 2 * n + 200))
        members = facts["member_ids"]
        redeemer = Redeemer(url)
        sql = redeemer._sql
        for i in range(200):  # warm up: connections, prepared statements, caches
            redeemer.redeem(codes[i], phone=b.phone(i % b.MEMBERS))
        t = time.perf_counter()
        for i in range(200, 200 + n):
            redeemer.redeem(codes[i], phone=b.phone(i % b.MEMBERS))
        library = (time.perf_counter() - t) / n
        redeemer.close()

        conn = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        cur = conn.cursor()
        now = dt.datetime.now(dt.UTC)
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        since = (now - dt.timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S.%f")
        payload = ('{"member": 1, "phone": "+8613900000001", "serial": 1, "batch": 1, '
                   '"sku": "BENCH", "points": 10, "channel": "GD", "tier": null, "balance": 10}')
        t = time.perf_counter()
        for i in range(200 + n, 200 + 2 * n):
            serial = facts["lib_start"] + i
            member = members[i % len(members)]
            state = {"phone": b.phone(i % b.MEMBERS), "openid": None, "source": None,
                     "limit": 10, "cutoff": 0, "serial": serial, "since": since}
            values = {"serial": serial, "batch_id": facts["lib_batch"], "member_id": member,
                      "channel_id": 1, "purchase_channel_id": None, "points": 10,
                      "scan_region": None, "diversion": False, "source": None,
                      "payload": payload, "now": stamp}
            cur.execute("BEGIN IMMEDIATE")
            cur.execute(sql["state"], state).fetchone()
            cur.execute(sql["insert_redemption"], values).fetchone()
            cur.execute(sql["insert_ledger"], values)
            cur.execute(sql["add_balance"], values).fetchone()
            cur.execute(sql["insert_event"], values).fetchone()
            cur.execute("COMMIT")
        floor = (time.perf_counter() - t) / n

        t = time.perf_counter()
        for i in range(n):
            serial = facts["raw_start"] + i
            member = members[i % len(members)]
            cur.execute("BEGIN IMMEDIATE")
            cur.execute("INSERT INTO redemptions (serial, batch_id, member_id, channel_id, points, "
                        "diversion, redeemed_at) VALUES (?, ?, ?, NULL, 10, false, ?)",
                        (serial, facts["raw_batch"], member, stamp))
            cur.execute("INSERT INTO ledger (member_id, delta, kind, reason, redemption_serial, "
                        "created_at) VALUES (?, 10, 'earn', 'code redeemed', ?, ?)",
                        (member, serial, stamp))
            cur.execute("UPDATE members SET balance = balance + 10 WHERE id = ?", (member,))
            cur.execute("COMMIT")
        baseline = (time.perf_counter() - t) / n
        conn.close()
    finally:
        cleanup()
    print(f"{'run':<12} {'us/scan':>8} {'per s':>8} {'vs baseline':>12}")
    for name, sec in (("library", library), ("library SQL", floor), ("baseline", baseline)):
        print(f"{name:<12} {sec * 1e6:8.0f} {1 / sec:8,.0f} {baseline / sec:12.0%}")


if __name__ == "__main__":
    main()
