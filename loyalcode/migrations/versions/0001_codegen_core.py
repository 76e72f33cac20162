"""codegen core: deployment, channels, batches

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 05:21:21.603097
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("kind IN ('distributor', 'wholesaler', 'retailer', 'ecommerce')", name=op.f('ck_channels_kind')),
    sa.ForeignKeyConstraint(['parent_id'], ['channels.id'], name=op.f('fk_channels_parent_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('code', name=op.f('uq_channels_code'))
    )
    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('visible_salt', sa.String(length=64), nullable=False),
    sa.Column('next_serial', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_deployment_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment'))
    )
    op.create_table('batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial_start', sa.BigInteger(), nullable=False),
    sa.Column('serial_end', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('line', sa.String(length=64), nullable=True),
    sa.Column('produced_on', sa.Date(), nullable=True),
    sa.Column('redeem_from', sa.Date(), nullable=True),
    sa.Column('redeem_until', sa.Date(), nullable=True),
    sa.Column('payload_template', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('created', 'active', 'closed', 'void')", name=op.f('ck_batches_status')),
    sa.CheckConstraint('points >= 0', name=op.f('ck_batches_points')),
    sa.CheckConstraint('quantity = serial_end - serial_start', name=op.f('ck_batches_quantity')),
    sa.CheckConstraint('serial_end > serial_start', name=op.f('ck_batches_range')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_batches_channel_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches')),
    sa.UniqueConstraint('serial_start', name=op.f('uq_batches_serial_start'))
    )
    


def downgrade() -> None:
    
    op.drop_table('batches')
    op.drop_table('deployment')
    op.drop_table('channels')
    
