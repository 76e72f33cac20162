"""A throttled identity's answer takes the same time for every code (no timing oracle).

    python benchmarks/bench_throttle.py                # SQLite and PostgreSQL
    python benchmarks/bench_throttle.py --db postgres --n 3000 --json

For each database: a fresh deployment (``bench_redeem.make_database``), a phone and an
openid throttled by forged scans, then ``Redeemer.redeem`` of four kinds of code by each
throttled identity, every call timed on its own, the kinds interleaved call by call (the
order shuffled every round) so that the shared machine weighs on all of them alike:

* ``genuine``: a live, activated, unredeemed code (what a guesser wants to learn);
* ``forged``: well formed, wrong tag (the baseline: nothing to learn);
* ``malformed``: junk;
* ``redeemed``: a genuine code another member redeemed.

Every call must answer ``throttled``. Printed: the median of each kind, side by side,
and each median as a ratio of the forged one (the property: within 10%). The phone
takes PostgreSQL's one-statement path, the openid the full path (a transaction).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import PG_URL, pg_available
from bench_redeem import make_database, phone

KINDS = ("genuine", "forged", "malformed", "redeemed")
THROTTLED_PHONE = "+8613700137000"
THROTTLED_OPENID = "o-bench-throttled"


def bench(kind: str, n: int) -> dict[str, Any]:
    from loyalcode.codegen.checkchar import calc_check_symbol
    from loyalcode.codegen.codec import codes_for_range
    from loyalcode.codegen.codeformat import ALPHABET
    from loyalcode.errors import RedemptionError
    from loyalcode.redemption import Redeemer
    from loyalcode.store.context import open_context

    url, facts, cleanup = make_database(kind, 2 * n + 100)
    try:
        keyring = open_context(url).keyring()
        start = facts["lib_start"]
        genuine = list(codes_for_range(keyring, start, start + n))
        redeemed = list(codes_for_range(keyring, start + n, start + 2 * n))
        rng = random.Random(11)
        forged = []
        for _ in range(n):
            body = "".join(rng.choice(ALPHABET) for _ in range(15))
            forged.append(body + calc_check_symbol(body))
        malformed = [f"https://evil.example.com/x/{i}" for i in range(n)]
        codes = {"genuine": genuine, "forged": forged, "malformed": malformed,
                 "redeemed": redeemed}
        now = dt.datetime.now(dt.UTC)
        redeemer = Redeemer(url)
        # The openid's member, with a phone; the redeemed codes, by other members.
        redeemer.redeem(genuine[-1], phone=phone(1), openid=THROTTLED_OPENID,
                        phone_verified=True, now=now)
        for i, code in enumerate(redeemed):
            redeemer.redeem(code, phone=phone(2 + i % 900), now=now)
        identities = {"phone": {"phone": THROTTLED_PHONE}, "openid": {"openid": THROTTLED_OPENID}}
        limit = redeemer.settings.throttle_failures
        for identity in identities.values():
            for code in forged[:limit]:
                try:
                    redeemer.redeem(code, now=now, **identity)
                except RedemptionError:  # every one is refused: that is what fills the bucket
                    continue

        out: dict[str, Any] = {"db": kind, "n": n}
        for name, identity in identities.items():
            times: dict[str, list[float]] = {k: [] for k in KINDS}
            answers: set[str] = set()
            order = list(KINDS)
            for i in range(n):
                rng.shuffle(order)
                for what in order:
                    scan = codes[what][i]
                    t0 = time.perf_counter()
                    try:
                        redeemer.redeem(scan, now=now, **identity)
                        answer = "credited"
                    except RedemptionError as err:
                        answer = err.code
                    times[what].append(time.perf_counter() - t0)
                    answers.add(answer)
            assert answers == {"throttled"}, answers
            medians = {k: statistics.median(v) * 1e6 for k, v in times.items()}
            out[name] = {"median_us": medians,
                         "vs_forged": {k: medians[k] / medians["forged"] for k in KINDS}}
        redeemer.close()
    finally:
        cleanup()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--n", type=int, default=2000, help="calls per kind of code and identity")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOYALCODE_KEY", secrets.token_hex(32))
    os.environ.setdefault("LOYALCODE_KEY_FILE", str(Path(tempfile.gettempdir()) / "no-such.key"))

    results = []
    if args.db in ("sqlite", "both"):
        results.append(bench("sqlite", args.n))
    if args.db in ("postgres", "both"):
        if pg_available():
            results.append(bench("postgres", args.n))
        else:
            print(f"PostgreSQL at {PG_URL} not reachable: skipped", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("median µs per throttled answer (ratio to forged)")
    print(f"{'database':<10} {'identity':<8} " + " ".join(f"{k:>18}" for k in KINDS))
    for r in results:
        for name in ("phone", "openid"):
            cells = " ".join(
                f"{r[name]['median_us'][k]:>9.0f} ({r[name]['vs_forged'][k]:>5.1%})" for k in KINDS
            )
            print(f"{r['db']:<10} {name:<8} {cells}")
    print(f"{results[0]['n'] if results else args.n} calls per kind and identity, interleaved",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
