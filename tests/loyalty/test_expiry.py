"""Expiry: oldest points spent first, what is left expires, runs are idempotent,
refunds keep their original expiry, notices once."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalcode.errors import FutureDate
from loyalcode.loyalty import points
from loyalcode.loyalty.expiry import expire_points
from loyalcode.loyalty.gifts import add_gift, cancel_order, redeem_gift
from loyalcode.loyalty.settings import LoyaltySettings
from tests.loyal import CST, T0, Loyal, phone

D1 = T0                                  # 2025-03-15: 30 points
D2 = T0 + dt.timedelta(days=30)          # 2025-04-14: 20 points
D3 = T0 + dt.timedelta(days=60)          # 2025-05-14: 10 points
SETTINGS = LoyaltySettings(profile_bonus=0, expiry_months=12, expiring_notice_days=10)


def _run(loyal: Loyal, as_of: dt.date) -> tuple[int, int, int]:
    with loyal.tx() as conn:
        run = expire_points(conn, SETTINGS, CST, as_of=as_of,
                            now=dt.datetime.combine(as_of, dt.time(12), CST))
    return run.points_expired, run.members_expired, run.notices


def _lots(loyal: Loyal, member: int) -> list[tuple[int, str]]:
    with loyal.tx() as conn:
        found = points.lots(conn, member, expiry_months=12, tz=CST)
    by_day: dict[str, int] = {}  # each scan is a lot of 10: add up per expiry date
    for lot in found:
        day = lot.expires_on.isoformat() if lot.expires_on else "never"
        by_day[day] = by_day.get(day, 0) + lot.remaining
    return [(left, day) for day, left in by_day.items()]


def _spend(loyal: Loyal, member: int, amount: int) -> int:
    with loyal.tx() as conn:
        add_gift(conn, sku=f"G{amount}", name="gift", points=amount, stock=10, now=T0)
        return redeem_gift(conn, member, f"G{amount}", SETTINGS, D3).order


def _setup(loyal: Loyal) -> int:
    m = loyal.member(phone(1))
    with loyal.tx() as conn:
        from loyalcode.loyalty.profile import update_profile

        update_profile(conn, m, SETTINGS, T0, name="A", gender="male", birthday="1990-01-01", city="X")
    loyal.earn(phone(1), 3, D1)
    loyal.earn(phone(1), 2, D2)
    loyal.earn(phone(1), 1, D3)
    return m


def test_fifo_with_partial_spends_and_idempotent_runs(loyal: Loyal) -> None:
    m = _setup(loyal)
    _spend(loyal, m, 35)  # all of the first lot and 5 of the second
    assert _lots(loyal, m) == [(0, "2026-03-15"), (15, "2026-04-14"), (10, "2026-05-14")]
    assert _run(loyal, dt.date(2026, 3, 15)) == (0, 0, 0)  # the first lot was spent
    assert _run(loyal, dt.date(2026, 4, 13)) == (0, 0, 1)  # 15 expiring on 04-14: a notice
    assert _run(loyal, dt.date(2026, 4, 13)) == (0, 0, 0)  # not twice
    assert _run(loyal, dt.date(2026, 4, 14)) == (15, 1, 0)  # expired
    assert _run(loyal, dt.date(2026, 4, 14)) == (0, 0, 0)  # idempotent
    assert loyal.balance(m) == 10
    assert _lots(loyal, m) == [(0, "2026-03-15"), (0, "2026-04-14"), (10, "2026-05-14")]
    entries = loyal.rows("SELECT delta, reason FROM ledger WHERE kind = 'expire' ORDER BY id")
    assert entries == [(-5, "points earned 2025-04-14 expired 2026-04-14"),
                       (-10, "points earned 2025-04-14 expired 2026-04-14")]  # one per lot
    assert _run(loyal, dt.date(2026, 5, 4)) == (0, 0, 1)  # 10 days before 05-14
    expiring = loyal.events("points_expiring")
    assert [(e["points"], e["expires_on"]) for e in expiring] == [(15, "2026-04-14"), (10, "2026-05-14")]
    assert loyal.events("points_expired") == [
        {"member": m, "balance": 10, "tier": "普卡", "points": 15,
         "as_of": "2026-04-14"}
    ]
    assert _run(loyal, dt.date(2027, 1, 1)) == (10, 1, 0)
    assert _run(loyal, dt.date(2027, 1, 1)) == (0, 0, 0)
    assert loyal.balance(m) == 0
    loyal.check_ledger()


def test_a_refund_keeps_the_original_expiry(loyal: Loyal) -> None:
    m = _setup(loyal)
    order = _spend(loyal, m, 40)  # 30 of lot 1, 10 of lot 2
    assert _lots(loyal, m) == [(0, "2026-03-15"), (10, "2026-04-14"), (10, "2026-05-14")]
    with loyal.tx() as conn:
        cancel_order(conn, order, SETTINGS, D3)
    assert _lots(loyal, m) == [(30, "2026-03-15"), (20, "2026-04-14"), (10, "2026-05-14")]
    assert _run(loyal, dt.date(2026, 3, 20)) == (30, 1, 0)
    assert loyal.balance(m) == 30
    loyal.check_ledger()


def test_cli_points_expire(loyal: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    loyal.earn(phone(2), 2, D1)
    r = cli("points", "expire", "--as-of", "2026-03-15", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["points_expired"] == 20 and r.json()["members_expired"] == 1
    r = cli("points", "expire", "--as-of", "2026-03-15", "--json")
    assert r.json()["points_expired"] == 0
    r = cli("points", "expire", "--as-of", "15/03/2026")
    assert r.exit_code == 1 and r.stderr.startswith("error [invalid_date]")
    loyal.check_ledger()


def test_a_future_date_is_refused_and_a_dry_run_changes_nothing(loyal: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    a = loyal.earn(phone(3), 2, D1).member
    b = loyal.earn(phone(4), 1, D1).member
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    r = cli("points", "expire", "--as-of", future, "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "future_date"
    assert r.stderr.startswith(f"error [future_date]: --as-of {future} is in the future (today is ")
    assert loyal.balance(a) == 20 and loyal.balance(b) == 10
    with loyal.tx() as conn, pytest.raises(FutureDate):
        expire_points(conn, SETTINGS, CST, as_of=dt.date(2026, 3, 16),
                      now=dt.datetime(2026, 3, 15, 12, tzinfo=CST))
    r = cli("points", "expire", "--as-of", "2026-03-15", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"Member {a}: 20 points would expire.",
        f"Member {b}: 10 points would expire.",
        ("Dry run: As of 2026-03-15 (Asia/Shanghai): 30 points of 2 members would expire; 0 expiring notices "
         "would be sent."),
    ]
    body = cli("points", "expire", "--as-of", "2026-03-15", "--dry-run", "--json").json()
    assert body["dry_run"] is True and body["points_expired"] == 30 and body["events"] == []
    assert body["members"] == [{"member": a, "points_expired": 20, "notices": 0},
                               {"member": b, "points_expired": 10, "notices": 0}]
    assert loyal.balance(a) == 20 and loyal.balance(b) == 10  # nothing changed
    r = cli("points", "expire", "--as-of", "2026-03-15")
    assert r.stdout.splitlines()[-1] == (
        "As of 2026-03-15 (Asia/Shanghai): 30 points of 2 members expired; 0 expiring notices.")
    assert loyal.balance(a) == 0
    loyal.check_ledger()
