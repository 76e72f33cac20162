"""redemption: activations, members, identities, redemptions, ledger, events, counters, clone alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 05:25:05.016984
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_members_balance')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['members.id'], name=op.f('fk_members_merged_into_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('phone', name=op.f('uq_members_phone'))
    )
    op.create_table('scan_failures',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'value', name=op.f('pk_scan_failures'))
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_events_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_member_id'), ['member_id'], unique=False)

    op.create_table('member_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('openid', 'unionid', 'shop')", name=op.f('ck_member_identities_kind')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_identities_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_identities')),
    sa.UniqueConstraint('kind', 'value', name='uq_member_identities_kind_value')
    )
    with op.batch_alter_table('member_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_identities_member_id'), ['member_id'], unique=False)

    op.create_table('activations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('serial_start', sa.BigInteger(), nullable=False),
    sa.Column('serial_end', sa.BigInteger(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('serial_end > serial_start', name=op.f('ck_activations_range')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_activations_batch_id_batches')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_activations_channel_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activations'))
    )
    with op.batch_alter_table('activations', schema=None) as batch_op:
        batch_op.create_index('ix_activations_batch_id_serial_start', ['batch_id', 'serial_start'], unique=False)

    op.create_table('clone_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('redeemed_by_id', sa.Integer(), nullable=True),
    sa.Column('attempted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempted_by_id'], ['members.id'], name=op.f('fk_clone_alerts_attempted_by_id_members')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_clone_alerts_batch_id_batches')),
    sa.ForeignKeyConstraint(['redeemed_by_id'], ['members.id'], name=op.f('fk_clone_alerts_redeemed_by_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clone_alerts')),
    sa.UniqueConstraint('serial', name=op.f('uq_clone_alerts_serial'))
    )
    op.create_table('redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('purchase_channel_id', sa.Integer(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('scan_region', sa.String(length=6), nullable=True),
    sa.Column('diversion', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=True),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_redemptions_batch_id_batches')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_redemptions_channel_id_channels')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_redemptions_member_id_members')),
    sa.ForeignKeyConstraint(['purchase_channel_id'], ['channels.id'], name=op.f('fk_redemptions_purchase_channel_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('serial', name=op.f('uq_redemptions_serial'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemptions_member_id'), ['member_id'], unique=False)

    op.create_table('ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('redemption_serial', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_ledger_member_id_members')),
    sa.ForeignKeyConstraint(['redemption_serial'], ['redemptions.serial'], name=op.f('fk_ledger_redemption_serial_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger'))
    )
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_member_id'))

    op.drop_table('ledger')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemptions_member_id'))

    op.drop_table('redemptions')
    op.drop_table('clone_alerts')
    with op.batch_alter_table('activations', schema=None) as batch_op:
        batch_op.drop_index('ix_activations_batch_id_serial_start')

    op.drop_table('activations')
    with op.batch_alter_table('member_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_identities_member_id'))

    op.drop_table('member_identities')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_member_id'))

    op.drop_table('events')
    op.drop_table('scan_failures')
    op.drop_table('members')
