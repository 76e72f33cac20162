"""Migrations: empty database to head, no drift between models and schema."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from loyalcode.migrations.metadata import drift
from loyalcode.store import db
from tests.conftest import Cli


def test_upgrade_from_empty_to_head_has_no_drift(empty_db_url: str, key_env: str) -> None:
    engine = db.make_engine(empty_db_url)
    try:
        assert db.current_revision(engine) is None
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        assert drift(engine) == []
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        assert {"alembic_version", "deployment", "channels", "batches"} <= tables
        db.upgrade(engine)  # idempotent
        assert drift(engine) == []
        db.require_head(engine)
    finally:
        engine.dispose()


def test_db_commands(empty_db_url: str, key_env: str) -> None:
    cli = Cli(empty_db_url)
    if empty_db_url.startswith("sqlite"):  # no file yet: a check says so and creates none
        path = Path(empty_db_url.split(":///", 1)[1])
        r = cli("db", "check", "--json")
        assert r.exit_code == 1 and r.stderr.startswith("error [not_initialized]")
        assert r.json()["error"]["code"] == "not_initialized" and not path.exists()
        path.touch()  # an empty file: a database with no schema
    r = cli("db", "check", "--json")
    assert r.exit_code == 1 and r.stderr.startswith("error [schema_drift]")
    err = r.json()["error"]  # one JSON document on stdout, the error
    assert err["code"] == "schema_drift" and err["revision"] is None and err["head"] == db.head_revision()
    r = cli("db", "upgrade", "--json")
    assert r.exit_code == 0 and r.json()["revision"] == db.head_revision()
    r = cli("db", "check", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() == {"revision": db.head_revision(), "head": db.head_revision(), "drift": []}
    r = cli("db", "check")
    assert r.exit_code == 0 and "no drift" in r.stdout


def test_drift_is_detected(empty_db_url: str, key_env: str) -> None:
    """The drift check is not vacuous: an extra column is reported."""
    from sqlalchemy import text

    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE batches ADD COLUMN surprise INTEGER"))
        assert drift(engine)
    finally:
        engine.dispose()
    r = Cli(empty_db_url)("db", "check", "--json")
    assert r.exit_code == 1 and r.stderr.startswith("error [schema_drift]")
    assert len(r.stderr.splitlines()) == 1 and "surprise" in r.json()["error"]["message"]


def test_migrations_ship_inside_the_package() -> None:
    import loyalcode

    assert db.MIGRATIONS_DIR.is_dir()
    assert db.MIGRATIONS_DIR.parent == __import__("pathlib").Path(loyalcode.__file__).parent
    assert any(db.MIGRATIONS_DIR.glob("versions/0001_*.py"))


def test_0004_backfills_earned_total_and_downgrades(empty_db_url: str, key_env: str) -> None:
    """A database with members and a ledger at 0003: 0004 sets each member's
    earned_total to the sum of its earn entries (other kinds left out), on both
    databases; downgrading removes the column again."""
    from alembic import command
    from sqlalchemy import text

    engine = db.make_engine(empty_db_url)
    try:
        db.upgrade(engine, "0003")
        with engine.begin() as conn:
            for phone in ("+8613900000001", "+8613900000002", "+8613900000003"):
                conn.execute(text("INSERT INTO members (phone, balance, created_at) "
                                  "VALUES (:p, 0, CURRENT_TIMESTAMP)"), {"p": phone})
            ids = conn.execute(text("SELECT id FROM members ORDER BY id")).scalars().all()
            entries = [(ids[0], 10, "earn"), (ids[0], 25, "earn"), (ids[0], -5, "gift"),
                       (ids[1], 100, "profile_bonus"), (ids[1], 7, "earn")]
            for member, delta, kind in entries:
                conn.execute(text("INSERT INTO ledger (member_id, delta, kind, reason, created_at) "
                                  "VALUES (:m, :d, :k, 'test', CURRENT_TIMESTAMP)"),
                             {"m": member, "d": delta, "k": kind})
        db.upgrade(engine)
        assert drift(engine) == []
        with engine.connect() as conn:
            got = dict(conn.execute(text("SELECT id, earned_total FROM members")).all())
            conn.rollback()
        assert got == {ids[0]: 35, ids[1]: 7, ids[2]: 0}
        with engine.begin() as conn:
            command.downgrade(db._alembic_config(conn), "0003")
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("members")}
            indexes = {i["name"] for i in inspect(conn).get_indexes("ledger")}
            conn.rollback()
        assert "earned_total" not in columns and "ix_ledger_member_id" in indexes
    finally:
        engine.dispose()
