"""events: the writing transaction's id (``txid``), so the HTTP feed is commit-safe

On PostgreSQL event ids are allocated before their transactions commit, and commits
come out of id order: a reader paging by ``id > last seen`` can miss an event that
commits just after a larger one. Each event now records its top-level transaction id
(``pg_current_xact_id()``, 64 bits: no wraparound) as a column default, and the feed
pages by ``(txid, id)`` and returns only events of transactions older than the oldest
one still running (the snapshot's xmin): that set never changes again. SQLite has one
writer at a time (ids commit in order): the column stays NULL there, and the partial
index holds no entry.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('txid', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        # Every event so far is committed: they come first, in id order.
        op.execute("UPDATE events SET txid = 0")
        op.execute("ALTER TABLE events ALTER COLUMN txid SET DEFAULT pg_current_xact_id()::text::bigint")
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_txid_id', ['txid', 'id'], unique=False,
                              postgresql_where=sa.text('txid IS NOT NULL'),
                              sqlite_where=sa.text('txid IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_txid_id', postgresql_where=sa.text('txid IS NOT NULL'),
                            sqlite_where=sa.text('txid IS NOT NULL'))
        batch_op.drop_column('txid')
