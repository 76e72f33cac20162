"""Batches: O(1) rows, contiguous ranges allocated by the database (also when created
at once), nothing left behind by a failed or killed creation, codes unique."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from loyalcode.channels.batches import create_batch, list_batches
from loyalcode.codegen.batches import batch_for_serial, get_batch, seq_range, void_batch
from loyalcode.codegen.codec import derive_chars, open_many
from loyalcode.codegen.errors import BatchNotFound, RangeOutsideBatch
from loyalcode.errors import LoyalcodeError
from loyalcode.store.config import DEFAULT_PAYLOAD_TEMPLATE
from tests.codegen.util import (
    assert_ranges_consistent,
    batch_ranges,
    count_distinct_rows,
    snapshot,
)

T = DEFAULT_PAYLOAD_TEMPLATE


def _create(ctx, quantity: int, **kw) -> dict:
    from loyalcode.channels.batches import batch_info

    with ctx.session() as s, s.begin():
        return batch_info(
            s, create_batch(s, sku=kw.pop("sku", "SKU-1"), quantity=quantity, points=5, payload_template=T, **kw)
        ).to_dict()


def test_create_allocates_contiguous_ranges(ctx) -> None:
    a = _create(ctx, 10)
    b = _create(ctx, 20_000_000)
    c = _create(ctx, 1)
    assert (a["serial_start"], a["serial_end"]) == (1, 11)
    assert (b["serial_start"], b["serial_end"]) == (11, 20_000_011)
    assert c["serial_start"] == 20_000_011 and c["quantity"] == 1
    assert_ranges_consistent(ctx.url)
    snap = snapshot(ctx.url)
    assert len(snap["batches"]) == 3  # O(1) rows per batch, whatever the quantity


def test_list_show_void_and_lookup(ctx) -> None:
    a = _create(ctx, 100, name="Serum 50 ml", gtin="09501101020917", line="L2", produced_on="2026-11-20")
    b = _create(ctx, 50)
    with ctx.session() as s:
        assert [x.id for x in list_batches(s)] == [b["id"], a["id"]]
        row = get_batch(s, str(a["id"]))
        assert row.gtin == "09501101020917" and row.line == "L2"
        assert batch_for_serial(s, a["serial_start"]).id == a["id"]
        assert batch_for_serial(s, a["serial_end"] - 1).id == a["id"]
        assert batch_for_serial(s, a["serial_end"]).id == b["id"]
        assert batch_for_serial(s, b["serial_end"]) is None
        assert batch_for_serial(s, 0) is None
        assert seq_range(row, None, None) == (1, 100)
        with pytest.raises(RangeOutsideBatch):
            seq_range(row, 0, 5)
        with pytest.raises(RangeOutsideBatch):
            seq_range(row, 5, 101)
        with pytest.raises(BatchNotFound):
            get_batch(s, "999")
        with pytest.raises(BatchNotFound):
            get_batch(s, "x")
    with ctx.session() as s, s.begin():
        assert void_batch(s, a["id"]).status == "void"
    with ctx.session() as s, s.begin():
        assert void_batch(s, a["id"]).status == "void"  # idempotent


def test_failure_after_allocation_leaves_nothing(ctx) -> None:
    """(a) The library raises inside the transaction after create_batch allocated and
    inserted: the rollback takes both the batch row and the counter update."""
    _create(ctx, 7)
    before = snapshot(ctx.url)
    with pytest.raises(RuntimeError), ctx.session() as s, s.begin():
        row = create_batch(s, sku="X", quantity=1000, points=1, payload_template=T)
        assert row.id is not None and row.serial_start == 8
        raise RuntimeError("power cut")
    assert snapshot(ctx.url) == before
    assert _create(ctx, 3)["serial_start"] == 8  # no serials were consumed


def test_a_million_codes_of_a_batch_are_distinct(sqlite_db_url: str, keyring) -> None:
    """All 1,000,000 codes of one batch are distinct, and distinct from those of a
    second batch; every one opens back to its own serial. (Codes do not depend on the
    database kind, so this runs once.)"""
    from loyalcode.store.context import open_context

    ctx = open_context(sqlite_db_url)
    a = _create(ctx, 1_000_000)
    b = _create(ctx, 1_000_000)
    ca = derive_chars(keyring, np.arange(a["serial_start"], a["serial_end"], dtype=np.uint64))
    cb = derive_chars(keyring, np.arange(b["serial_start"], b["serial_end"], dtype=np.uint64))
    assert count_distinct_rows(ca) == 1_000_000
    assert count_distinct_rows(np.concatenate([ca, cb])) == 2_000_000
    status, serials = open_many(keyring, ca)
    assert (status == 0).all()
    assert (serials == np.arange(a["serial_start"], a["serial_end"], dtype=np.uint64)).all()
    ctx.dispose()


# --- concurrency ----------------------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_creation_postgres_threads(pg_db_url: str) -> None:
    """8 threads, each with its own connection, create 5 batches each at the same
    moment: the ranges are disjoint, tile the serial space and end at the counter."""
    from loyalcode.store.context import open_context

    db_url = pg_db_url
    ctx = open_context(db_url)
    ctx.engine.pool._pool.maxsize = 16  # type: ignore[attr-defined]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    made: list[dict] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            barrier.wait()
            rng = random.Random(i)
            for _ in range(5):
                info = _create(ctx, rng.randint(1, 5_000_000), sku=f"T{i}")
                with lock:
                    made.append(info)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ctx.dispose()
    assert not errors, errors
    assert len(made) == 40
    ranges = assert_ranges_consistent(db_url)
    assert sorted((m["serial_start"], m["serial_end"]) for m in made) == ranges


_WORKER = r"""
import sys
from loyalcode.store.context import open_context
from loyalcode.codegen.batches import create_batch
ctx = open_context(sys.argv[1])
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()  # start together
for i in range(int(sys.argv[2])):
    with ctx.session() as s, s.begin():
        create_batch(s, sku="P", quantity=1000 + i, points=1, payload_template="{code}")
"""


def test_concurrent_creation_processes(db_url: str) -> None:
    """4 processes released at once each create 6 batches (SQLite: BEGIN IMMEDIATE and
    the busy timeout queue them; PostgreSQL: the counter row lock)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, db_url, "6"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        assert p.stdout.readline() == "ready\n"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    ranges = assert_ranges_consistent(db_url)
    assert len(ranges) == 24


# --- interrupted ------------------------------------------------------------------------

_HOLD = r"""
import sys, time
from loyalcode.store.context import open_context
from loyalcode.codegen.batches import create_batch
ctx = open_context(sys.argv[1])
with ctx.session() as s, s.begin():
    row = create_batch(s, sku="KILLED", quantity=5_000_000, points=1, payload_template="{code}")
    sys.stdout.write(f"allocated {row.serial_start}\n"); sys.stdout.flush()
    time.sleep(60)
"""


def test_sigkill_inside_the_transaction_leaves_nothing(db_url: str, cli) -> None:
    """(b1) A process allocates a range and inserts its batch row, then is killed with
    SIGKILL before it commits (the worst moment: work done, nothing committed). The
    database rolls the transaction back: no batch, the counter is unchanged, and the
    next batch gets the very serials the killed one had been given."""
    first = cli("batch", "create", "--sku", "A", "--quantity", "10", "--points", "1", "--json").json()
    before = snapshot(db_url)
    p = subprocess.Popen([sys.executable, "-c", _HOLD, db_url], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("allocated "), line
    assert int(line.split()[1]) == first["serial_end"]
    os.kill(p.pid, signal.SIGKILL)
    p.wait(10)
    p.stdout.close()
    assert snapshot(db_url) == before
    r = cli("batch", "create", "--sku", "B", "--quantity", "10", "--points", "1", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["serial_start"] == first["serial_end"]
    assert_ranges_consistent(db_url)


def test_sigkill_batch_create_at_random_moments(db_url: str) -> None:
    """(b2) `loyalcode batch create --quantity 20000000` is killed with SIGKILL at random
    moments (during start-up, inside the transaction, after the commit). Whatever the
    moment, the batches that exist are whole, their ranges are disjoint and tile the
    serial space with no gap, and the counter equals the end of the last one: a killed
    creation is either fully there or not there at all."""
    rng = random.Random(7)
    env = {**os.environ, "LOYALCODE_DATABASE_URL": db_url}
    finished = 0
    for _ in range(8):
        p = subprocess.Popen(
            [sys.executable, "-m", "loyalcode", "-q", "batch", "create", "--sku", "K",
             "--quantity", "20000000", "--points", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, 0.9))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait(10)
        finished += p.returncode == 0
    ranges = assert_ranges_consistent(db_url)
    assert all(end - start == 20_000_000 for start, end in ranges)
    assert len(ranges) >= finished


def test_library_errors_are_project_errors(ctx) -> None:
    with ctx.session() as s, s.begin():
        for kw in (
            {"quantity": 0}, {"quantity": "-1"}, {"quantity": "1e6"}, {"quantity": 100_000_001},
            {"quantity": True}, {"points": "-1"}, {"sku": ""}, {"gtin": "123"},
            {"gtin": "09501101020918"}, {"produced_on": "2026-13-01"}, {"channel": "NOPE"},
            {"redeem_from": "2026-12-01", "redeem_until": "2026-11-01"},
            {"payload_template": "https://x/{serial}"}, {"payload_template": "{code}{nope}"},
            {"payload_template": "{gtin}/{code}"},
        ):
            args = {"sku": "S", "quantity": 5, "points": 1, "payload_template": T, **kw}
            with pytest.raises(LoyalcodeError):
                create_batch(s, **args)
    assert batch_ranges(ctx.url) == ([], 1)
