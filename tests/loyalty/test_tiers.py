"""Tiers: upgrades as points are earned, the multiplier, downgrades when earnings
leave the window, an event for every change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from loyalcode.errors import FutureDate
from loyalcode.loyalty.settings import LoyaltySettings
from loyalcode.loyalty.tiers import evaluate, tier_status
from tests.loyal import T0, TEST_TIERS, Loyal, phone

CONFIG = """
[loyalty]
tier_window_days = 30
tiers = [
  {name = "普卡", threshold = 0},
  {name = "银卡", threshold = 30},
  {name = "金卡", threshold = 60, multiplier = 2.0},
]
"""


@pytest.fixture
def tiered(loyal: Loyal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Loyal:
    config = tmp_path / "tiers.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("LOYALCODE_CONFIG", str(config))
    from loyalcode.redemption import Redeemer

    loyal.redeemer.close()
    loyal.redeemer = Redeemer(loyal.shop.ctx.url)
    loyal.settings = LoyaltySettings(tier_window_days=30, tiers=TEST_TIERS)
    yield loyal
    loyal.redeemer.close()


def _tier(loyal: Loyal, member: int, now: dt.datetime) -> Any:
    with loyal.tx() as conn:
        return tier_status(conn, member, loyal.settings, now)


def test_up_with_the_multiplier_and_down_by_evaluation(tiered: Loyal) -> None:
    loyal = tiered
    r = loyal.earn(phone(1), 2, T0)  # 20
    m = r.member
    assert [e.type for e in r.events] == ["points_earned"]
    r = loyal.earn(phone(1), 1, T0)  # 30: 银卡
    assert [e.type for e in r.events] == ["points_earned", "tier_changed"]
    loyal.earn(phone(1), 3, T0 + dt.timedelta(days=10))  # 60: 金卡 (the third scan)
    assert _tier(loyal, m, T0 + dt.timedelta(days=10)).tier == "金卡"
    r = loyal.earn(phone(1), 1, T0 + dt.timedelta(days=11))
    assert r.points == 20 and r.balance == 80  # 10 points x 2 in 金卡
    earned = loyal.events("points_earned")
    assert earned[-1]["tier"] == "金卡" and earned[-1]["balance"] == 80 and earned[-1]["member"] == m
    assert "phone" not in earned[-1]  # [events] include_phone is off by default

    with loyal.tx() as conn:  # day 35: the day-0 30 points left the window: 50 -> 银卡
        changes = evaluate(conn, loyal.settings, T0 + dt.timedelta(days=35))
    assert [(c.member, c.previous, c.tier, c.earned_in_window) for c in changes] == [
        (m, "金卡", "银卡", 50)
    ]
    with loyal.tx() as conn:
        assert evaluate(conn, loyal.settings, T0 + dt.timedelta(days=35)) == []
    with loyal.tx() as conn:  # day 50: nothing earned in the window
        changes = evaluate(conn, loyal.settings, T0 + dt.timedelta(days=50))
    assert [(c.previous, c.tier) for c in changes] == [("银卡", "普卡")]
    events = loyal.events("tier_changed")
    assert [(e["previous_tier"], e["tier"], e["direction"]) for e in events] == [
        ("普卡", "银卡", "up"), ("银卡", "金卡", "up"), ("金卡", "银卡", "down"), ("银卡", "普卡", "down"),
    ]
    assert events[1]["multiplier"] == 2.0 and events[0]["member"] == m and "phone" not in events[0]
    assert loyal.balance(m) == 80  # tiers never touch points
    loyal.check_ledger()


def test_old_earnings_do_not_upgrade(tiered: Loyal) -> None:
    """The lifetime total only decides whether the window must be summed: points that
    left the window never count toward an upgrade (both the fast and the full path)."""
    loyal = tiered
    m = loyal.earn(phone(2), 2, T0).member  # 20 points on day 0
    day = T0 + dt.timedelta(days=40)  # day 0 left the 30-day window
    r = loyal.earn(phone(2), 1, day)  # lifetime 30 reaches 银卡, the window holds 10
    assert [e.type for e in r.events] == ["points_earned"]
    assert loyal.scalar("SELECT earned_total FROM members WHERE id = :m", m=m) == 30
    r = loyal.earn(phone(2), 1, day + dt.timedelta(days=1))  # window 20
    assert [e.type for e in r.events] == ["points_earned"]
    r = loyal.earn(phone(2), 1, day + dt.timedelta(days=2))  # window 30: 银卡
    assert [e.type for e in r.events] == ["points_earned", "tier_changed"]
    assert loyal.events("tier_changed")[-1]["earned_in_window"] == 30
    assert _tier(loyal, m, day + dt.timedelta(days=2)).tier == "银卡"
    loyal.check_ledger()


def test_spending_does_not_cost_a_tier(tiered: Loyal) -> None:
    from loyalcode.loyalty.gifts import add_gift, redeem_gift

    loyal = tiered
    m = loyal.earn(phone(2), 3, T0).member
    loyal.complete(m)
    with loyal.tx() as conn:
        add_gift(conn, sku="G", name="g", points=120, stock=1, now=T0)
        redeem_gift(conn, m, "G", loyal.settings, T0)
    with loyal.tx() as conn:
        assert evaluate(conn, loyal.settings, T0 + dt.timedelta(days=1)) == []
    assert _tier(loyal, m, T0).tier == "银卡"


def test_cli_tiers_evaluate(tiered: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    tiered.earn(phone(3), 3, T0)  # 银卡 at earn time, long ago
    r = cli("tiers", "evaluate", "--json")
    assert r.exit_code == 0, r.stderr
    assert [(c["previous_tier"], c["tier"]) for c in r.json()["changes"]] == [("银卡", "普卡")]
    assert cli("tiers", "evaluate", "--json").json() == {"changes": [], "total": 0, "dry_run": False}


def test_cli_tiers_evaluate_refuses_the_future_and_dry_runs(tiered: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    m = tiered.earn(phone(4), 3, T0).member  # 银卡 at earn time, long ago
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    r = cli("tiers", "evaluate", "--as-of", future, "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "future_date"
    assert r.stderr.startswith(f"error [future_date]: --as-of {future} is in the future")
    # as of the day of the scans, the points are in the window: nothing to change
    r = cli("tiers", "evaluate", "--as-of", T0.date().isoformat(), "--json")
    assert r.json() == {"changes": [], "total": 0, "dry_run": False}
    r = cli("tiers", "evaluate", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"Member {m}: 银卡 -> 普卡 (earned 0 in the window).",
        "Dry run: 1 member would move to another tier.",
    ]
    assert _tier(tiered, m, T0).tier == "银卡"  # unchanged
    body = cli("tiers", "evaluate", "--dry-run", "--json").json()
    assert body["total"] == 1 and body["dry_run"] is True and body["changes"][0]["event"] is None
    r = cli("tiers", "evaluate")
    assert r.stdout.splitlines()[-1] == "1 member moved to another tier."
    assert _tier(tiered, m, T0).tier == "普卡"
    with tiered.tx() as conn, pytest.raises(FutureDate):
        evaluate(conn, tiered.settings, T0, as_of=T0 + dt.timedelta(seconds=1))
