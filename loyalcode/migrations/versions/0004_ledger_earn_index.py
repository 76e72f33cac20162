"""ledger: one index for a member's entries and the tier window sum

The per-scan tier query sums a member's ``earn`` entries since a date. With an index on
``member_id`` alone that reads every entry's table row; ``(member_id, kind,
created_at, delta)`` answers it from the index, and still serves every lookup by
member (its leading column), so it replaces ``ix_ledger_member_id``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 08:00:00
"""

from __future__ import annotations

from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index(
            'ix_ledger_member_kind_created', ['member_id', 'kind', 'created_at', 'delta'], unique=False
        )
        batch_op.drop_index(batch_op.f('ix_ledger_member_id'))


def downgrade() -> None:
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_member_id'), ['member_id'], unique=False)
        batch_op.drop_index('ix_ledger_member_kind_created')
