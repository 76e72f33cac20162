"""Exactly once under concurrency: many processes, one transaction each per scan."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter

from sqlalchemy import text

from ._workers import redeem_all


def _run(url: str, jobs: list[tuple[list[str], list[str]]]) -> list[tuple[str, object]]:
    spawn = mp.get_context("spawn")
    barrier = spawn.Barrier(len(jobs))
    out = spawn.Queue()
    procs = [
        spawn.Process(target=redeem_all, args=(url, scans, phones, seed, barrier, out))
        for seed, (scans, phones) in enumerate(jobs)
    ]
    for p in procs:
        p.start()
    results = [item for _ in procs for item in out.get(timeout=300)]
    for p in procs:
        p.join(timeout=60)
    assert not [r for r in results if r[0] == "crash"], results
    return results


def _totals(shop) -> tuple[int, int, int]:
    with shop.ctx.engine.connect() as conn:
        row = conn.execute(
            text("SELECT (SELECT count(*) FROM redemptions), (SELECT count(*) FROM ledger), "
                 "(SELECT coalesce(sum(delta), 0) FROM ledger)")
        ).one()
        conn.rollback()
    return int(row[0]), int(row[1]), int(row[2])


def test_16_processes_redeem_the_same_code_once(db_url, shop) -> None:
    code = shop.code(42)
    phones = [f"1380013{i:04d}" for i in range(16)]
    results = _run(db_url, [([code], [phones[i]]) for i in range(16)])
    outcomes = Counter(r[0] for r in results)
    assert outcomes == {"ok": 1, "already_redeemed": 15}, outcomes
    assert all(same is False for code_, same in results if code_ == "already_redeemed")
    assert _totals(shop) == (1, 1, 10)
    assert shop.count("clone_alerts") == 1
    shop.assert_balances_match_ledger()


def test_8_processes_redeem_400_codes_each_once(db_url, shop) -> None:
    codes = [shop.code(seq) for seq in range(1, 401)]
    phones = [f"1390013{i:04d}" for i in range(5)]
    # Every process tries every code, in its own order, for members it shares.
    results = _run(db_url, [(codes, phones) for _ in range(8)])
    outcomes = Counter(r[0] for r in results)
    assert outcomes["ok"] == 400, outcomes
    assert outcomes["ok"] + outcomes["already_redeemed"] == 8 * 400
    assert _totals(shop) == (400, 400, 4000)
    assert shop.count("members") <= 5
    shop.assert_balances_match_ledger()
