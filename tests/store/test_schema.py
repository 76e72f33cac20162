"""The redemption migration matches the models on both databases, and goes down cleanly."""

from __future__ import annotations

from sqlalchemy import inspect


def test_no_drift_and_constraints(ctx) -> None:
    from loyalcode.migrations.metadata import drift
    from loyalcode.store import db

    assert db.current_revision(ctx.engine) == db.head_revision()
    assert drift(ctx.engine) == []
    insp = inspect(ctx.engine)
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("redemptions")}
    assert ("serial",) in uniques  # the exactly-once guard
    assert ("serial",) in {tuple(u["column_names"]) for u in insp.get_unique_constraints("clone_alerts")}
    assert ("phone",) in {tuple(u["column_names"]) for u in insp.get_unique_constraints("members")}
    assert ("kind", "value") in {
        tuple(u["column_names"]) for u in insp.get_unique_constraints("member_identities")
    }


def test_downgrade_to_0001_and_up_again(ctx) -> None:
    from alembic import command

    from loyalcode.migrations.metadata import drift
    from loyalcode.store import db

    with ctx.engine.begin() as conn:
        command.downgrade(db._alembic_config(conn), "0001")
    assert "redemptions" not in inspect(ctx.engine).get_table_names()
    db.upgrade(ctx.engine)
    assert drift(ctx.engine) == []
