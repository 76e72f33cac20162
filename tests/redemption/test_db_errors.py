"""A database that cannot serve a scan gives the CRM a typed error, never the driver's,
credits nothing, and the Redeemer works again once the database does."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import text

from loyalcode.errors import DatabaseError, DatabaseUnavailable, NotInitialized
from loyalcode.store import db
from tests.shop import PHONE, PHONE_E164


def _hold_write_lock(shop, db_url):
    """Another client holding what a scan of PHONE needs: SQLite's writer lock, or the
    PostgreSQL row of PHONE's member. Returns the raw connection (roll it back)."""
    if db_url.startswith("sqlite"):
        other = sqlite3.connect(db_url.split(":///", 1)[1], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        return other
    other = psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"))
    other.execute("SELECT id FROM members WHERE phone = %s FOR UPDATE", (PHONE_E164,))
    return other


def test_a_busy_database_is_database_unavailable_and_credits_nothing(shop, redeemer, db_url):
    first = redeemer.redeem(shop.code(1), phone=PHONE)  # the member exists, connections warm
    before = shop.snapshot()
    # Give up on a lock quickly: SQLite's busy timeout, PostgreSQL's lock timeout.
    redeemer._connection()
    raw = redeemer._local.raw
    if db_url.startswith("sqlite"):
        raw.execute("PRAGMA busy_timeout = 50")
    else:
        raw.execute("SET lock_timeout = '50ms'")
        raw.commit()
    other = _hold_write_lock(shop, db_url)
    try:
        with pytest.raises(DatabaseUnavailable) as err:
            # a purchase channel takes the full path, on the connection set up above
            redeemer.redeem(shop.code(2), phone=PHONE, purchase_channel="GD-DIST")
        assert err.value.code == "database_unavailable"
        assert shop.code(2) not in err.value.message and "+86" not in err.value.message
    finally:
        other.rollback()
        other.close()
    assert shop.snapshot() == before
    again = redeemer.redeem(shop.code(2), phone=PHONE, purchase_channel="GD-DIST")
    assert again.balance == first.balance + 10
    shop.assert_balances_match_ledger()


def test_typed_error_of_driver_and_wrapped_errors(ctx) -> None:
    """What the hot path can meet, raw from the driver or wrapped by SQLAlchemy."""
    from sqlalchemy import exc

    for raw in (sqlite3.OperationalError("database is locked"),
                psycopg.errors.DeadlockDetected("deadlock detected\nDETAIL: Process 7 waits")):
        typed = db.typed_error(ctx.engine, raw)
        assert isinstance(typed, DatabaseUnavailable) and typed.code == "database_unavailable"
        assert "DETAIL" not in typed.message
    typed = db.typed_error(ctx.engine, sqlite3.IntegrityError("UNIQUE constraint failed: x.y"))
    assert isinstance(typed, DatabaseError) and typed.code == "database_error"
    typed = db.typed_error(ctx.engine, exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError(
        "no such table: members")))
    assert isinstance(typed, NotInitialized)


def test_a_missing_table_is_not_initialized(shop, redeemer) -> None:
    """A database whose schema is not what the code needs (here the ledger is gone)
    says so with a typed error, and nothing of the scan stays written."""
    redeemer.redeem(shop.code(1), phone=PHONE)
    with shop.ctx.engine.begin() as conn:
        conn.execute(text("ALTER TABLE ledger RENAME TO ledger_gone"))
    with pytest.raises(NotInitialized) as err:
        redeemer.redeem(shop.code(2), phone=PHONE)
    assert err.value.code == "not_initialized"
    assert shop.count("redemptions") == 1
