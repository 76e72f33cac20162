"""What the benchmarks share: a scratch database of either kind, and interleaved arms.

This machine class is a shared VM whose speed moves by 1.5–2× within minutes (CPU
steal), so arms compared with each other run interleaved, block by block, rather than
one after the other.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

PG_URL = os.environ.get(
    "LOYALCODE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_DSN = PG_URL.replace("postgresql+psycopg://", "postgresql://")


def scratch_database(kind: str) -> tuple[str, Callable[[], None]]:
    """``(url, cleanup)``: an empty SQLite file in a temporary folder, or a fresh
    schema in the PostgreSQL database of ``LOYALCODE_BENCH_POSTGRES_URL``."""
    if kind == "sqlite":
        tmp = tempfile.mkdtemp(prefix="loyalcode-bench-")
        return f"sqlite:///{tmp}/loyalcode.db", lambda: shutil.rmtree(tmp, ignore_errors=True)
    import psycopg

    schema = "bench_" + secrets.token_hex(4)
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def cleanup() -> None:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{PG_URL}?options=-csearch_path%3D{schema}", cleanup


def pg_available() -> bool:
    """Whether the benchmark PostgreSQL answers (within 3 s)."""
    import psycopg

    try:
        with psycopg.connect(PG_DSN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def interleave(arms: dict[str, Callable[[int, int], Any]], start: int, stop: int,
               block: int) -> dict[str, dict[str, Any]]:
    """Run every arm on ``[start, stop)`` in blocks of ``block``, all arms on each block
    before the next, the order rotating every block, so that whatever the machine
    does to one arm it does to the others. Per arm: summed ``wall`` and ``cpu``
    seconds and ``out``, the lists the arm returned, joined (or ``[]``)."""
    names = list(arms)
    done = {name: {"wall": 0.0, "cpu": 0.0, "out": []} for name in names}
    for k, lo in enumerate(range(start, stop, block)):
        hi = min(lo + block, stop)
        shift = k % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = time.perf_counter(), time.process_time()
            out = arms[name](lo, hi)
            done[name]["wall"] += time.perf_counter() - wall
            done[name]["cpu"] += time.process_time() - cpu
            done[name]["out"].extend(out or [])
    return done
