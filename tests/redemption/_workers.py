"""Process bodies for the concurrency tests (imported by spawned processes)."""

from __future__ import annotations

import random
from typing import Any


def redeem_all(url: str, scans: list[str], phones: list[str], seed: int, barrier: Any, out: Any) -> None:
    """Open a Redeemer, wait for every process, then redeem ``scans`` in a shuffled order,
    each with a phone from ``phones``; put ``[(outcome, same_member), ...]`` on ``out``."""
    from loyalcode.errors import RedemptionError
    from loyalcode.redemption import Redeemer, RedemptionSettings

    rng = random.Random(seed)
    order = list(scans)
    rng.shuffle(order)
    results: list[tuple[str, Any]] = []
    try:
        # Exactly once is under test, not the throttle: scans of codes another process
        # redeemed first count as failures, and the members are shared.
        redeemer = Redeemer(url, settings=RedemptionSettings(throttle_failures=10**6))
        with redeemer.engine.connect() as conn:  # connect before the start line
            conn.exec_driver_sql("SELECT 1")
            conn.rollback()
        barrier.wait(timeout=120)
        for scan in order:
            try:
                redeemer.redeem(scan, phone=rng.choice(phones))
                results.append(("ok", None))
            except RedemptionError as err:
                results.append((err.code, getattr(err, "same_member", None)))
        redeemer.close()
    except BaseException as exc:  # report, never hang the test
        results.append(("crash", f"{type(exc).__name__}: {exc}"))
    out.put(results)


def redeem_until_killed(url: str, scans: list[str], phone: str) -> None:
    """Redeem ``scans`` one after the other for ``phone``, then wait: the test SIGKILLs
    it, mid-stream or, on a slow moment, once done."""
    import time

    from loyalcode.errors import RedemptionError
    from loyalcode.redemption import Redeemer

    redeemer = Redeemer(url)
    for scan in scans:
        try:
            redeemer.redeem(scan, phone=phone)
        except RedemptionError as err:  # a repeat after an earlier kill
            if err.code != "already_redeemed":
                raise
    time.sleep(600)
