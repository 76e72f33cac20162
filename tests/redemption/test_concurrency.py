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


def _consistent(shop) -> int:
    """Every redemption has its ledger entry and its points_earned event, and nothing
    else exists half-written; returns the number of redemptions."""
    with shop.ctx.engine.connect() as conn:
        red, earn, events, orphans = conn.execute(text(
            "SELECT (SELECT count(*) FROM redemptions), "
            "(SELECT count(*) FROM ledger WHERE kind = 'earn'), "
            "(SELECT count(*) FROM events WHERE type = 'points_earned'), "
            "(SELECT count(*) FROM ledger l WHERE l.kind = 'earn' AND NOT EXISTS "
            " (SELECT 1 FROM redemptions r WHERE r.serial = l.redemption_serial))"
        )).one()
        conn.rollback()
    assert red == earn == events and orphans == 0, (red, earn, events, orphans)
    shop.assert_balances_match_ledger()
    return int(red)


def test_sigkill_mid_run_never_half_credits_nor_double_credits(db_url, shop) -> None:
    """A redeeming process killed (SIGKILL) at arbitrary moments, three times: what it
    committed is whole, what it did not left nothing behind, and redeeming every code
    again afterwards credits each exactly once in all."""
    import os
    import signal
    import time

    from loyalcode.errors import RedemptionError
    from loyalcode.redemption import Redeemer

    from ._workers import redeem_until_killed

    _, start = shop.batch_with(quantity=2500, points=10)  # activated whole
    codes = [shop.code(seq) for seq in range(1, 501)]  # the shop's activated 500
    codes += [shop.code(seq, start) for seq in range(1, 2501)]
    spawn = mp.get_context("spawn")
    seen = 0
    for round_ in range(3):
        proc = spawn.Process(target=redeem_until_killed, args=(db_url, codes, "13700137000"))
        proc.start()
        deadline = time.monotonic() + 120
        # Kill once this round has committed a few more (the kill lands mid-stream), or
        # at once when an earlier round already redeemed everything (a slow moment).
        target = min(len(codes), seen + 50 + round_ * 17)
        while time.monotonic() < deadline and shop.count("redemptions") < target:
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL
        seen = _consistent(shop)
    assert 0 < seen <= len(codes)
    redeemer = Redeemer(db_url)
    credited = repeats = 0
    for code in codes:
        try:
            redeemer.redeem(code, phone="13700137000")
            credited += 1
        except RedemptionError as err:
            assert err.code == "already_redeemed" and err.same_member is True
            repeats += 1
    redeemer.close()
    assert repeats == seen and credited + repeats == len(codes)
    assert _consistent(shop) == len(codes)
    assert _totals(shop) == (3000, 3000, 30000)
