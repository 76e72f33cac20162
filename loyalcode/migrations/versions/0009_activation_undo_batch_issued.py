"""activations without a channel (deactivation, undo), undoes_id; batches.issued_at

The activation history stays append-only and learns to say "not activated": an entry
with no channel is a deactivation (a return), and an undo is an entry of its own that
names the entry it reverses (``undoes_id``, unique: undone once). The span map keeps
only activated ranges, so the scan is unchanged.

``batches.issued_at`` records when a batch's codes were first exported or printed:
until then its payload template may still be changed.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite rebuilds the table: loyalcode.store.db.upgrade turns foreign keys off
    # around the migrations and checks them all before the commit.
    with op.batch_alter_table('activations', schema=None) as batch_op:
        batch_op.alter_column('channel_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('undoes_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_activations_undoes_id'), ['undoes_id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_activations_undoes_id_activations'), 'activations', ['undoes_id'], ['id']
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_activations_undo'), 'undoes_id IS NULL OR channel_id IS NULL'
        )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('issued_at')
    op.execute("DELETE FROM activations WHERE undoes_id IS NOT NULL")
    op.execute("DELETE FROM activations WHERE channel_id IS NULL")
    with op.batch_alter_table('activations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_activations_undo'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_activations_undoes_id_activations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_activations_undoes_id'), type_='unique')
        batch_op.drop_column('undoes_id')
        batch_op.alter_column('channel_id', existing_type=sa.Integer(), nullable=False)
