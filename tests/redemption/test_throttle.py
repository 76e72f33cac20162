"""The throttle: starts after the limit, ends with the window, holds across processes,
and answers ``throttled`` to a valid code and a forged one alike."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

import pytest
from sqlalchemy import text

from loyalcode.codegen.checkchar import calc_check_symbol
from loyalcode.codegen.errors import ForgedCode
from loyalcode.errors import RedemptionError
from loyalcode.loyalty.members import normalize_phone
from loyalcode.redemption import Redeemer, RedemptionSettings, throttle
from tests.shop import OTHER_PHONE, PHONE, UTC

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _forged(i: int) -> str:
    body = f"ABCDEFGHJK{i:05d}"
    return body + calc_check_symbol(body)


def _outcome(redeemer, scan: str, **kwargs) -> dict:
    try:
        redeemer.redeem(scan, **kwargs)
    except RedemptionError as err:
        return err.to_dict()
    return {"code": "ok"}


def test_throttle_starts_and_ends(ctx, shop) -> None:
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=3, throttle_window_seconds=60))
    for i in range(3):
        with pytest.raises(ForgedCode):
            redeemer.redeem(_forged(i), phone=PHONE, now=T0 + dt.timedelta(seconds=i))
    later = T0 + dt.timedelta(seconds=10)
    valid = _outcome(redeemer, shop.code(1), phone=PHONE, now=later)
    forged = _outcome(redeemer, _forged(99), phone=PHONE, now=later)
    # The same answer, word for word, whether the code is right or wrong.
    assert valid == forged == {
        "code": "throttled",
        "message": "Too many failed attempts: try again in 50 seconds.",
        "retry_after": 50,
    }
    assert shop.count("redemptions") == 0
    # Another phone is not throttled.
    assert redeemer.redeem(shop.code(2), phone=OTHER_PHONE, now=later).points == 10
    # After the window the same phone redeems again, and counting starts afresh.
    after = T0 + dt.timedelta(seconds=61)
    assert redeemer.redeem(shop.code(1), phone=PHONE, now=after).points == 10
    with pytest.raises(ForgedCode):
        redeemer.redeem(_forged(5), phone=PHONE, now=after)
    assert redeemer.redeem(shop.code(3), phone=PHONE, now=after).balance == 20


def test_throttle_by_source_and_openid_and_unknown_counts(ctx, shop) -> None:
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=2, throttle_window_seconds=600))
    beyond = shop.code(5000)  # authentic, in no batch: "unknown" counts too
    for phone in ("13800138001", "13800138002"):
        _outcome(redeemer, beyond, phone=phone, source="device-1", now=T0)
    assert _outcome(redeemer, shop.code(1), phone=PHONE, source="device-1", now=T0)["code"] == "throttled"
    assert redeemer.redeem(shop.code(1), phone=PHONE, source="device-2", now=T0).points == 10
    for _ in range(2):
        _outcome(redeemer, _forged(1), openid="oGuess", now=T0)
    assert _outcome(redeemer, _forged(2), openid="oGuess", now=T0)["code"] == "throttled"
    # No identity at all: refused before the code is looked at (no free lane).
    before = shop.count("scan_failures")
    for scan in (_forged(1), shop.code(2), "junk"):
        assert _outcome(redeemer, scan, now=T0)["code"] == "identity_required"
    assert shop.count("scan_failures") == before


def test_throttle_counted_across_processes(cli, shop, tmp_path) -> None:
    config = tmp_path / "throttle.toml"
    config.write_text("[redemption]\nthrottle_failures = 3\nthrottle_window_seconds = 600\n")
    cli.env["LOYALCODE_CONFIG"] = str(config)
    for i in range(3):  # three separate processes, one failure each
        r = cli.subprocess("redeem", _forged(i), "--phone", PHONE, "--json")
        assert r.exit_code == 1 and r.json()["error"]["code"] == "forged", r.stderr
    for scan in (shop.code(1), _forged(9)):
        r = cli.subprocess("redeem", scan, "--phone", PHONE, "--json")
        assert r.exit_code == 1
        assert r.json()["error"]["code"] == "throttled"
    r = cli.subprocess("redeem", shop.code(1), "--phone", OTHER_PHONE, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["points"] == 10


def test_settings_from_config(tmp_path, monkeypatch) -> None:
    from loyalcode.errors import ConfigError
    from loyalcode.store.config import load_config

    path = tmp_path / "loyalcode.toml"
    path.write_text("[redemption]\nthrottle_failures = 4\n")
    monkeypatch.setenv("LOYALCODE_CONFIG", str(path))
    settings = RedemptionSettings.from_config(load_config("sqlite:///x.db"))
    assert (settings.throttle_failures, settings.throttle_window_seconds) == (4, 600)
    path.write_text("[redemption]\nthrottle_failures = 0\n")
    with pytest.raises(ConfigError):
        RedemptionSettings.from_config(load_config("sqlite:///x.db"))
    path.write_text("[redemption]\nthrotle = 1\n")
    with pytest.raises(ConfigError):
        RedemptionSettings.from_config(load_config("sqlite:///x.db"))


def _seed(ctx, ids: throttle.Identities, when: dt.datetime, window: int) -> None:
    """One failure for each of ``ids`` (in clear) at ``when``."""
    keyed = _keyed(ctx, ids)  # (reads the key's fingerprint: outside the write)
    with ctx.engine.connect() as conn, conn.begin():
        throttle.record_failure(conn, keyed, when.timestamp(), window)


def _keyed(ctx, ids) -> throttle.Identities:
    """Identities as the counters store them (keyed hashes)."""
    return throttle.keyed(ctx.keyring(), tuple(ids))


def _key(ctx, kind: str, value: str) -> tuple[str, str]:
    return _keyed(ctx, ((kind, value),))[0]


def _counters(ctx) -> dict[tuple[str, str], tuple[int, float]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, value, failures, window_start FROM scan_failures")).all()
        conn.rollback()
    return {(k, v): (int(n), float(start)) for k, v, n, start in rows}


def test_failures_purge_expired_counters_a_few_at_a_time(ctx, shop) -> None:
    window = 60
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=3, throttle_window_seconds=window))
    expired = tuple(("source", f"old-{i}") for i in range(40))
    for pair in expired:
        _seed(ctx, (pair,), T0, window)
    live = tuple(("openid", f"oLive{i}") for i in range(5))
    _seed(ctx, live, T0 + dt.timedelta(seconds=50), window)
    # Exactly at the end of the old windows (window_start <= cutoff): expired.
    at = T0 + dt.timedelta(seconds=window)
    with pytest.raises(ForgedCode):
        redeemer.redeem(_forged(1), phone=PHONE, now=at)
    after_one = _counters(ctx)
    assert len([key for key in _keyed(ctx, expired) if key in after_one]) == 40 - throttle.PURGE_PER_FAILURE
    assert after_one[_key(ctx, "phone", normalize_phone(PHONE))] == (1, at.timestamp())
    for _ in range(2):  # 16 + 16 + 8: gone after three failures
        with pytest.raises(ForgedCode):
            redeemer.redeem(_forged(2), phone=PHONE, now=at)
    counters = _counters(ctx)
    live_start = (T0 + dt.timedelta(seconds=50)).timestamp()
    assert counters == {**{key: (1, live_start) for key in _keyed(ctx, live)},
                        _key(ctx, "phone", normalize_phone(PHONE)): (3, at.timestamp())}
    # The purge took nothing the throttle needed: the phone is throttled now, the live
    # openids still count where they were.
    assert _outcome(redeemer, shop.code(1), phone=PHONE, now=at)["code"] == "throttled"
    for _ in range(2):
        _outcome(redeemer, _forged(3), openid="oLive0", now=at)
    assert _outcome(redeemer, shop.code(1), openid="oLive0", now=at)["code"] == "throttled"
    redeemer.close()


def test_purge_expired_deletes_every_expired_counter(ctx) -> None:
    window = 600
    _seed(ctx, tuple(("phone", f"+86138001380{i:02d}") for i in range(30)), T0, window)
    _seed(ctx, (("source", "recent"),), T0 + dt.timedelta(seconds=300), window)
    now = (T0 + dt.timedelta(seconds=window)).timestamp()
    with ctx.engine.connect() as conn, conn.begin():
        assert throttle.purge_expired(conn, now, window) == 30
    with ctx.engine.connect() as conn, conn.begin():
        assert throttle.purge_expired(conn, now, window) == 0
    assert _counters(ctx) == {_key(ctx, "source", "recent"): (1, (T0 + dt.timedelta(seconds=300)).timestamp())}


def test_concurrent_failures_with_expired_counters_count_right(ctx) -> None:
    """Threads, each on its own connection, count failures for shared identities while
    the counters of the round before (and of others) are expired and being purged: no
    deadlock, and each identity ends with the failures of its last window."""
    window, rounds, threads, per_round = 60, 3, 8, 25
    # Expired counters of others, purged as the threads go.
    _seed(ctx, tuple(("source", f"gone-{i}") for i in range(300)), T0 - dt.timedelta(seconds=100), window)
    phones = [f"1380013{i:04d}" for i in range(4)]
    openids = [f"oShared{i}" for i in range(3)]
    sources = ["device-a", "device-b"]
    rng = random.Random(7)
    # plans[r][t]: the (phone, openid, source) of each failure thread t counts in round r.
    plans = [
        [[(rng.choice(phones + [None]), rng.choice(openids + [None]), rng.choice(sources))
          for _ in range(per_round)] for _ in range(threads)]
        for _ in range(rounds)
    ]
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=10**6, throttle_window_seconds=window))
    barrier = threading.Barrier(threads, timeout=120)
    errors: list[str] = []

    def run(t: int) -> None:
        try:
            for r in range(rounds):
                barrier.wait()  # a round starts when every thread has ended the last
                # Each round 100 s after the last: every window of the round before has ended.
                when = T0 + dt.timedelta(seconds=100 * r)
                for phone, openid, source in plans[r][t]:
                    outcome = _outcome(redeemer, _forged(t), phone=phone, openid=openid, source=source, now=when)
                    if outcome["code"] != "forged":
                        errors.append(f"thread {t} round {r}: {outcome}")
        except Exception as exc:  # a deadlock, a broken barrier: report it
            errors.append(f"thread {t}: {type(exc).__name__}: {exc}")
            barrier.abort()

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    redeemer.close()
    assert errors == []
    last = T0 + dt.timedelta(seconds=100 * (rounds - 1))
    expected = Counter()
    for plan in plans[-1]:
        for phone, openid, source in plan:
            expected.update(_keyed(ctx, throttle.identities(phone and normalize_phone(phone), openid, source)))
    counters = _counters(ctx)
    cutoff = last.timestamp() - window
    live = {key: value for key, value in counters.items() if value[1] > cutoff}
    assert live == {key: (n, last.timestamp()) for key, n in expected.items()}
    # The failures purged most of the others' expired counters; a maintenance purge the rest.
    assert len(counters) - len(live) < 300
    with ctx.engine.connect() as conn, conn.begin():
        assert throttle.purge_expired(conn, last.timestamp(), window) == len(counters) - len(live)
    assert _counters(ctx) == live


# --- no oracle, no free lane (issue 11) ----------------------------------------------------


def _throttle(redeemer, **identity) -> None:
    """Spend the identity's failures (limit 2) on forged codes."""
    for i in range(2):
        assert _outcome(redeemer, _forged(i), now=T0, **identity)["code"] == "forged"


def _every_kind_of_code(shop, redeemer) -> dict[str, str]:
    """A genuine live code, a redeemed one (by another member), one not activated, one in
    no batch, a forged one, a typo and junk."""
    redeemer.redeem(shop.code(7), phone="13800138077", now=T0)
    genuine = shop.code(8)
    typo = genuine[:3] + ("1" if genuine[3] != "1" else "2") + genuine[4:]
    return {"genuine": genuine, "redeemed": shop.code(7), "not_activated": shop.code(600),
            "unknown": shop.code(5000), "forged": _forged(50), "typo": typo,
            "malformed": "https://evil.example.com/?q=1"}


@pytest.mark.parametrize("identity", [
    {"phone": PHONE},                                        # the fast path on PostgreSQL
    {"phone": PHONE, "purchase_channel": "GD-DIST"},         # the full path
    {"openid": "oKnown"},                                    # a member by openid
    {"source": "203.0.113.9"},
])
def test_a_throttled_identity_gets_one_answer_for_every_code(ctx, shop, identity) -> None:
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=2, throttle_window_seconds=600))
    if "openid" in identity:
        redeemer.redeem(shop.code(9), phone=OTHER_PHONE, openid="oKnown", phone_verified=True, now=T0)
    codes = _every_kind_of_code(shop, redeemer)
    _throttle(redeemer, **identity)
    before = (shop.snapshot(), shop.count("clone_alerts"), _counters(ctx))
    answers = {kind: _outcome(redeemer, scan, now=T0 + dt.timedelta(seconds=5), **identity)
               for kind, scan in codes.items()}
    expected = {"code": "throttled", "message": "Too many failed attempts: try again in 595 seconds.",
                "retry_after": 595}
    assert answers == dict.fromkeys(codes, expected)
    # Nothing written, nothing counted: no clone alert for the redeemed code either.
    assert (shop.snapshot(), shop.count("clone_alerts"), _counters(ctx)) == before
    redeemer.close()


@pytest.mark.parametrize("refusal", ["not_activated", "expired", "not_yet_valid", "batch_void",
                                     "already_redeemed"])
def test_every_refusal_about_a_genuine_code_counts(ctx, shop, refusal) -> None:
    """The state of genuine codes was free to probe: not_activated and already_redeemed
    (by someone else) never counted."""
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=3, throttle_window_seconds=600))
    if refusal == "already_redeemed":
        scans = [shop.code(i) for i in (1, 2, 3)]
        for scan in scans:
            redeemer.redeem(scan, phone=OTHER_PHONE, now=T0)
    elif refusal == "not_activated":
        scans = [shop.code(i) for i in (601, 602, 603)]
    else:
        dates = {"expired": {"redeem_until": dt.date(2026, 4, 1)},
                 "not_yet_valid": {"redeem_from": dt.date(2026, 6, 1)}}
        batch, start = shop.batch_with(**dates.get(refusal, {}))
        if refusal == "batch_void":
            with ctx.engine.begin() as conn:
                conn.execute(text("UPDATE batches SET status = 'void' WHERE id = :b"), {"b": batch})
        scans = [shop.code(i, batch_start=start) for i in (1, 2, 3)]
    for scan in scans:
        assert _outcome(redeemer, scan, phone=PHONE, now=T0)["code"] == refusal
    assert _outcome(redeemer, shop.code(10), phone=PHONE, now=T0)["code"] == "throttled"
    redeemer.close()


def test_phone_required_is_not_a_failure(ctx, shop) -> None:
    """Asking for the phone is the onboarding step of a live code, not a guess."""
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=2, throttle_window_seconds=600))
    for i in range(1, 6):
        assert _outcome(redeemer, shop.code(i), openid="oNew", now=T0)["code"] == "phone_required"
    assert redeemer.redeem(shop.code(1), phone=PHONE, openid="oNew", phone_verified=True,
                           now=T0).points == 10
    redeemer.close()


def test_rotating_phones_from_one_source_is_throttled(ctx, shop) -> None:
    """A new phone on every try, one source: the source's bucket counts them all, of
    every kind of failure."""
    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=3, throttle_window_seconds=600))
    redeemer.redeem(shop.code(1), phone=OTHER_PHONE, now=T0)
    tries = [shop.code(1), shop.code(601), _forged(3)]  # redeemed, not activated, forged
    for i, scan in enumerate(tries):
        assert _outcome(redeemer, scan, phone=f"1380013801{i}", source="10.0.0.1", now=T0)["code"] != "ok"
    # A fourth phone, never seen, from the same source: throttled, even for a live code.
    assert _outcome(redeemer, shop.code(2), phone="13800138019", source="10.0.0.1",
                    now=T0)["code"] == "throttled"
    assert redeemer.redeem(shop.code(2), phone="13800138019", source="10.0.0.2", now=T0).points == 10
    redeemer.close()


@pytest.mark.parametrize(
    "empty_db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_failures_racing_past_the_limit_are_answered_throttled(ctx, shop) -> None:
    """Concurrent failures all read "not throttled" before any counts: each one past the
    limit (the counter as its own upsert leaves it) is answered ``throttled``, so no
    more than the limit of real answers come out of a window however many race."""
    from tests.redemption._racing import held, race

    redeemer = Redeemer(ctx, settings=RedemptionSettings(throttle_failures=2, throttle_window_seconds=600))
    assert _outcome(redeemer, _forged(1), phone=PHONE, now=T0)["code"] == "forged"
    ids = _keyed(ctx, throttle.identities(normalize_phone(PHONE), None, None))
    with held(ctx.engine) as conn:  # the second failure, counted and not yet committed
        throttle.record_failure(conn, ids, T0.timestamp(), 600)
        (scan,) = race(ctx.engine, lambda: _outcome(redeemer, _forged(2), phone=PHONE, now=T0))
    assert scan.result()["code"] == "throttled"
    assert _counters(ctx)[_key(ctx, "phone", normalize_phone(PHONE))][0] == 3
    redeemer.close()
