"""PostgreSQL: loyalcode_fall_back(reason), with which the fast path undoes itself

The redemption fast path (``redemption/fastpath.py``) is one autocommit statement. Two
things are known only once it has written, when it has waited for the member's row: a
merge that committed meanwhile (the member is a tombstone now), or scans that committed
meanwhile and, with this one, reach the next tier. Then the statement calls this
function, which raises (SQLSTATE ``LC001``): the whole statement is undone, nothing of
it stays written, and the caller takes the full path. SQLite has no fast path.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION loyalcode_fall_back(reason text) RETURNS boolean "
        "LANGUAGE plpgsql VOLATILE AS $$ BEGIN "
        "RAISE EXCEPTION USING ERRCODE = 'LC001', "
        "MESSAGE = 'loyalcode fast path falls back: ' || reason; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS loyalcode_fall_back(text)")
