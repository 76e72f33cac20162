"""code_queries: how often the anti-counterfeit verdict was asked of each serial

One row per serial that was looked up on the landing page (the clone signal): the
count, the first and the last query. New table only.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('code_queries',
    sa.Column('serial', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('queries', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_code_queries'))
    )


def downgrade() -> None:
    op.drop_table('code_queries')
