"""activation_spans: the activation map as it stands, one probe per scan

A scan's channel is the newest activation covering its serial. Read from the history
(``activations``) that costs a scan of every activation of the batch starting at or
below the serial: linear in the activations a batch has had, and a batch shipped
carton by carton has thousands. ``activation_spans`` keeps the map itself, disjoint
ranges each with the channel of the activation that decided it, maintained by
``activate()`` in the same transaction; a scan reads one span through the unique
``serial_start`` index. Existing activations are replayed into spans here, oldest
first, the way ``activate()`` would have written them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _replay(rows: list[tuple[int, int, int, int, int]]) -> list[dict[str, int]]:
    """Spans left by activations ``(id, batch, start, end, channel)``: newest first,
    each keeps what no newer one covers. Frozen with this revision (no app imports)."""
    covered: dict[int, list[tuple[int, int]]] = defaultdict(list)  # batch -> disjoint, sorted
    spans = []
    for act_id, batch, start, end, channel in sorted(rows, reverse=True):
        free, cursor = [], start
        for s, e in covered[batch]:
            if e <= cursor or s >= end:
                continue
            if s > cursor:
                free.append((cursor, s))
            cursor = max(cursor, e)
        if cursor < end:
            free.append((cursor, end))
        spans += [{"serial_start": s, "serial_end": e, "batch_id": batch, "channel_id": channel,
                   "activation_id": act_id} for s, e in free]
        merged: list[tuple[int, int]] = []
        for s, e in sorted([*covered[batch], (start, end)]):
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
            else:
                merged.append((s, e))
        covered[batch] = merged
    return spans


def upgrade() -> None:
    spans = op.create_table('activation_spans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial_start', sa.BigInteger(), nullable=False),
    sa.Column('serial_end', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('activation_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('serial_end > serial_start', name=op.f('ck_activation_spans_range')),
    sa.ForeignKeyConstraint(['activation_id'], ['activations.id'], name=op.f('fk_activation_spans_activation_id_activations')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_activation_spans_batch_id_batches')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_activation_spans_channel_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_spans')),
    sa.UniqueConstraint('serial_start', name=op.f('uq_activation_spans_serial_start'))
    )
    op.create_index('ix_activation_spans_batch_id_channel_id', 'activation_spans', ['batch_id', 'channel_id'], unique=False)
    rows = op.get_bind().execute(
        sa.text("SELECT id, batch_id, serial_start, serial_end, channel_id FROM activations")
    ).all()
    if rows:
        op.bulk_insert(spans, _replay([(int(a), int(b), int(s), int(e), int(c))
                                       for a, b, s, e, c in rows]))


def downgrade() -> None:
    op.drop_index('ix_activation_spans_batch_id_channel_id', table_name='activation_spans')
    op.drop_table('activation_spans')
