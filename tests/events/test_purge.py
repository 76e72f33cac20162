"""Purging the outbox: acknowledged events older than a cut-off go, pending ones stay."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from loyalcode.events.outbox import acknowledge, list_events, purge_acknowledged
from tests.shop import PHONE, UTC


def _events(shop) -> dict[int, dt.datetime | None]:
    with shop.ctx.engine.connect() as conn:
        rows = list_events(conn)
        conn.rollback()
    return {e.id: e.acknowledged_at for e in rows}


def _outbox(shop, redeemer) -> list[int]:
    """Five events: member_joined and four points_earned; the first two acknowledged
    in January, the third last week, the last two pending."""
    for seq in range(1, 5):
        redeemer.redeem(shop.code(seq), phone=PHONE)
    ids = sorted(_events(shop))
    assert len(ids) == 5
    with shop.ctx.engine.connect() as conn, conn.begin():
        acknowledge(conn, ids[:2], now=dt.datetime(2026, 1, 10, tzinfo=UTC))
        acknowledge(conn, ids[2:3], now=dt.datetime.now(UTC) - dt.timedelta(days=7))
    return ids


def test_purge_before_a_day_keeps_pending_and_newer(shop, redeemer, cli) -> None:
    ids = _outbox(shop, redeemer)
    r = cli("events", "purge", "--before", "2026-06-01", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["purged"] == 2
    left = _events(shop)
    assert sorted(left) == ids[2:]
    assert left[ids[3]] is None and left[ids[4]] is None  # pending: never purged
    again = cli("events", "purge", "--before", "2026-06-01", "--json")
    assert again.exit_code == 0 and again.json()["purged"] == 0
    # what is left is still a working outbox: list, ack, then a purge by age
    r = cli("events", "ack", str(ids[3]), "--json")
    assert r.exit_code == 0 and r.json()["acknowledged"] == [ids[3]]
    r = cli("events", "purge", "--older-than", "3")
    assert r.exit_code == 0 and r.stdout.startswith("Purged 1 acknowledged event acknowledged before")
    assert sorted(_events(shop)) == [ids[3], ids[4]]  # acked just now: not old enough
    shop.assert_balances_match_ledger()


def test_purge_touches_only_its_id_range(shop, redeemer) -> None:
    ids = _outbox(shop, redeemer)
    future = dt.datetime.now(UTC) + dt.timedelta(days=1)
    with shop.ctx.engine.connect() as conn, conn.begin():
        assert purge_acknowledged(conn, future, ids[1], ids[3]) == 2  # ids[1], ids[2]
        assert purge_acknowledged(conn, future, ids[3], ids[4] + 1) == 0  # both pending
    assert sorted(_events(shop)) == [ids[0], ids[3], ids[4]]


def test_purge_needs_one_cut_off(shop, cli) -> None:
    for args, code in (((), "invalid_input"),
                       (("--before", "2026-01-01", "--older-than", "5"), "invalid_input"),
                       (("--before", "01/02/2026"), "invalid_date")):
        r = cli("events", "purge", *args, "--json")
        assert r.exit_code == 1
        assert r.json()["error"]["code"] == code
        assert r.stderr.startswith(f"error [{code}]: ") and len(r.stderr.splitlines()) == 1
    r = cli("events", "purge", "--older-than", "0")
    assert r.exit_code == 2  # typer refuses a non-positive age before anything runs


def test_purge_of_an_empty_outbox(cli) -> None:
    r = cli("events", "purge", "--older-than", "30", "--json")
    assert r.exit_code == 0 and r.json()["purged"] == 0
    with_count = cli("events", "list", "--json")
    assert with_count.exit_code == 0 and with_count.json() == []


def test_nothing_but_events_is_purged(shop, redeemer, cli) -> None:
    _outbox(shop, redeemer)
    before = {t: shop.count(t) for t in ("redemptions", "ledger", "members")}
    assert cli("events", "purge", "--before", "2030-01-01").exit_code == 0
    assert {t: shop.count(t) for t in before} == before
    with shop.ctx.engine.connect() as conn:
        pending = conn.execute(
            text("SELECT count(*) FROM events WHERE acknowledged_at IS NULL")
        ).scalar_one()
        conn.rollback()
    assert pending == 2 and shop.count("events") == 2
