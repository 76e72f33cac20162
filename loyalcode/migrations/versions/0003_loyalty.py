"""loyalty: profiles, tiers, gifts, orders, claims, ledger refs, expiry notices, deliveries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 05:38:10.373874
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('per_member_limit', sa.Integer(), nullable=True),
    sa.Column('active_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('per_member_limit IS NULL OR per_member_limit > 0', name=op.f('ck_gifts_limit')),
    sa.CheckConstraint('points > 0', name=op.f('ck_gifts_points')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_gifts_stock')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gifts')),
    sa.UniqueConstraint('sku', name=op.f('uq_gifts_sku'))
    )
    op.create_table('expiry_notices',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_expiry_notices_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'expires_on', name=op.f('pk_expiry_notices'))
    )
    op.create_table('gift_claims',
    sa.Column('gift_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_gift_claims_quantity')),
    sa.ForeignKeyConstraint(['gift_id'], ['gifts.id'], name=op.f('fk_gift_claims_gift_id_gifts')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_gift_claims_member_id_members')),
    sa.PrimaryKeyConstraint('gift_id', 'member_id', name=op.f('pk_gift_claims'))
    )
    op.create_table('gift_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('placed', 'cancelled')", name=op.f('ck_gift_orders_status')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_gift_orders_quantity')),
    sa.ForeignKeyConstraint(['gift_id'], ['gifts.id'], name=op.f('fk_gift_orders_gift_id_gifts')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_gift_orders_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_orders'))
    )
    with op.batch_alter_table('gift_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gift_orders_gift_id'), ['gift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gift_orders_member_id'), ['member_id'], unique=False)

    op.create_table('member_profiles',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('gender', sa.String(length=8), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bonus_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("gender IN ('female', 'male', 'other')", name=op.f('ck_member_profiles_gender')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_profiles_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_profiles'))
    )
    op.create_table('member_tiers',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=32), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_tiers_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_tiers'))
    )
    op.create_table('event_deliveries',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_deliveries_event_id_events')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_event_deliveries'))
    )
    op.create_table('ledger_refs',
    sa.Column('ledger_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ledger_id'], ['ledger.id'], name=op.f('fk_ledger_refs_ledger_id_ledger')),
    sa.ForeignKeyConstraint(['lot_id'], ['ledger.id'], name=op.f('fk_ledger_refs_lot_id_ledger')),
    sa.ForeignKeyConstraint(['order_id'], ['gift_orders.id'], name=op.f('fk_ledger_refs_order_id_gift_orders')),
    sa.PrimaryKeyConstraint('ledger_id', name=op.f('pk_ledger_refs'))
    )
    with op.batch_alter_table('ledger_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_refs_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_refs_order_id'))

    op.drop_table('ledger_refs')
    op.drop_table('event_deliveries')
    op.drop_table('member_tiers')
    op.drop_table('member_profiles')
    with op.batch_alter_table('gift_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gift_orders_member_id'))
        batch_op.drop_index(batch_op.f('ix_gift_orders_gift_id'))

    op.drop_table('gift_orders')
    op.drop_table('gift_claims')
    op.drop_table('expiry_notices')
    op.drop_table('gifts')
