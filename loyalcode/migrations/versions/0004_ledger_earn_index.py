"""members.earned_total; ledger: one index for a member's entries and the tier window sum

``members.earned_total`` is the sum of the member's ``earn`` entries, kept with the
balance in the same update. A scan whose credit cannot reach the next tier even if
every point ever earned were in the window needs no window sum: the common scan no
longer reads the member's history. Existing members are backfilled from the ledger.

The per-scan tier query sums a member's ``earn`` entries since a date. With an index on
``member_id`` alone that reads every entry's table row; ``(member_id, kind,
created_at, delta)`` answers it from the index, and still serves every lookup by
member (its leading column), so it replaces ``ix_ledger_member_id``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases (SQLite takes a NOT NULL column with a
    # constant default). Batch mode would copy and drop the members table, which the
    # foreign keys of every other table refuse once there are members.
    op.add_column(
        'members', sa.Column('earned_total', sa.BigInteger(), server_default='0', nullable=False)
    )
    op.execute(
        "UPDATE members SET earned_total = (SELECT coalesce(sum(l.delta), 0) FROM ledger l "
        "WHERE l.member_id = members.id AND l.kind = 'earn')"
    )
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index(
            'ix_ledger_member_kind_created', ['member_id', 'kind', 'created_at', 'delta'], unique=False
        )
        batch_op.drop_index(batch_op.f('ix_ledger_member_id'))


def downgrade() -> None:
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_member_id'), ['member_id'], unique=False)
        batch_op.drop_index('ix_ledger_member_kind_created')
    op.drop_column('members', 'earned_total')  # SQLite 3.35+ drops a column in place
