"""logistics: cases, pallets, aggregation, shipments

Cases and pallets with their SSCC-18 (``logistic_units``; ``sscc_counters`` allocates
serial references), what each case holds as runs of serials (``case_contents``, the
map; ``case_moves`` and ``packings``, the history), and shipments scan by scan
(``shipments``, ``shipment_scans``, and ``shipment_ranges``: what a closed shipment
activated, with its activation). New tables only.

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-06 22:02:24.194445
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('logistic_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('pallet_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('case', 'pallet')", name=op.f('ck_logistic_units_kind')),
    sa.ForeignKeyConstraint(['pallet_id'], ['logistic_units.id'], name=op.f('fk_logistic_units_pallet_id_logistic_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_logistic_units')),
    sa.UniqueConstraint('sscc', name=op.f('uq_logistic_units_sscc'))
    )
    with op.batch_alter_table('logistic_units', schema=None) as batch_op:
        batch_op.create_index('ix_logistic_units_pallet_id', ['pallet_id'], unique=False)

    op.create_table('packings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('units', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('pack', 'upload', 'move')", name=op.f('ck_packings_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packings'))
    )
    op.create_table('sscc_counters',
    sa.Column('company_prefix', sa.String(length=12), nullable=False),
    sa.Column('extension', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('next_ref', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('company_prefix', 'extension', name=op.f('pk_sscc_counters'))
    )
    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('units', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("kind = 'return' OR channel_id IS NOT NULL", name=op.f('ck_shipments_channel')),
    sa.CheckConstraint("kind IN ('ship', 'return')", name=op.f('ck_shipments_kind')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_shipments_status')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_shipments_channel_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    op.create_table('case_contents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial_start', sa.BigInteger(), nullable=False),
    sa.Column('serial_end', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('packing_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('serial_end > serial_start', name=op.f('ck_case_contents_range')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_case_contents_batch_id_batches')),
    sa.ForeignKeyConstraint(['case_id'], ['logistic_units.id'], name=op.f('fk_case_contents_case_id_logistic_units')),
    sa.ForeignKeyConstraint(['packing_id'], ['packings.id'], name=op.f('fk_case_contents_packing_id_packings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_contents')),
    sa.UniqueConstraint('serial_start', name=op.f('uq_case_contents_serial_start'))
    )
    with op.batch_alter_table('case_contents', schema=None) as batch_op:
        batch_op.create_index('ix_case_contents_case_id', ['case_id'], unique=False)

    op.create_table('case_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('packing_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('serial_start', sa.BigInteger(), nullable=False),
    sa.Column('serial_end', sa.BigInteger(), nullable=False),
    sa.Column('from_case_id', sa.Integer(), nullable=True),
    sa.Column('to_case_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('serial_end > serial_start', name=op.f('ck_case_moves_range')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_case_moves_batch_id_batches')),
    sa.ForeignKeyConstraint(['from_case_id'], ['logistic_units.id'], name=op.f('fk_case_moves_from_case_id_logistic_units')),
    sa.ForeignKeyConstraint(['packing_id'], ['packings.id'], name=op.f('fk_case_moves_packing_id_packings')),
    sa.ForeignKeyConstraint(['to_case_id'], ['logistic_units.id'], name=op.f('fk_case_moves_to_case_id_logistic_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_moves'))
    )
    with op.batch_alter_table('case_moves', schema=None) as batch_op:
        batch_op.create_index('ix_case_moves_batch_id_serial_start', ['batch_id', 'serial_start'], unique=False)

    op.create_table('shipment_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('serial', sa.BigInteger(), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(unit_id IS NULL) <> (serial IS NULL)', name=op.f('ck_shipment_scans_one')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_scans_shipment_id_shipments')),
    sa.ForeignKeyConstraint(['unit_id'], ['logistic_units.id'], name=op.f('fk_shipment_scans_unit_id_logistic_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_scans'))
    )
    with op.batch_alter_table('shipment_scans', schema=None) as batch_op:
        batch_op.create_index('ix_shipment_scans_shipment_serial', ['shipment_id', 'serial'], unique=True)
        batch_op.create_index('ix_shipment_scans_shipment_unit', ['shipment_id', 'unit_id'], unique=True)

    op.create_table('shipment_ranges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('serial_start', sa.BigInteger(), nullable=False),
    sa.Column('serial_end', sa.BigInteger(), nullable=False),
    sa.Column('activation_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('serial_end > serial_start', name=op.f('ck_shipment_ranges_range')),
    sa.ForeignKeyConstraint(['activation_id'], ['activations.id'], name=op.f('fk_shipment_ranges_activation_id_activations')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_shipment_ranges_batch_id_batches')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_ranges_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_ranges'))
    )
    with op.batch_alter_table('shipment_ranges', schema=None) as batch_op:
        batch_op.create_index('ix_shipment_ranges_activation_id', ['activation_id'], unique=True)
        batch_op.create_index('ix_shipment_ranges_batch_id_serial_start', ['batch_id', 'serial_start'], unique=False)
        batch_op.create_index('ix_shipment_ranges_shipment_id', ['shipment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('shipment_ranges', schema=None) as batch_op:
        batch_op.drop_index('ix_shipment_ranges_shipment_id')
        batch_op.drop_index('ix_shipment_ranges_batch_id_serial_start')
        batch_op.drop_index('ix_shipment_ranges_activation_id')

    op.drop_table('shipment_ranges')
    with op.batch_alter_table('shipment_scans', schema=None) as batch_op:
        batch_op.drop_index('ix_shipment_scans_shipment_unit')
        batch_op.drop_index('ix_shipment_scans_shipment_serial')

    op.drop_table('shipment_scans')
    with op.batch_alter_table('case_moves', schema=None) as batch_op:
        batch_op.drop_index('ix_case_moves_batch_id_serial_start')

    op.drop_table('case_moves')
    with op.batch_alter_table('case_contents', schema=None) as batch_op:
        batch_op.drop_index('ix_case_contents_case_id')

    op.drop_table('case_contents')
    op.drop_table('shipments')
    op.drop_table('sscc_counters')
    op.drop_table('packings')
    with op.batch_alter_table('logistic_units', schema=None) as batch_op:
        batch_op.drop_index('ix_logistic_units_pallet_id')

    op.drop_table('logistic_units')
