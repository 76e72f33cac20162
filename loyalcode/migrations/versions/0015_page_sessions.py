"""page_sessions, member_consents, phone_challenges: the consumer pages' sessions,
the consent to the privacy notice, and SMS one-time codes (hashed). New tables only.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('page_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('consent_version', sa.String(length=40), nullable=True),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                            name=op.f('fk_page_sessions_member_id_members')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_page_sessions'))
    )
    op.create_index(op.f('ix_page_sessions_member_id'), 'page_sessions', ['member_id'])
    op.create_index(op.f('ix_page_sessions_expires_at'), 'page_sessions', ['expires_at'])
    op.create_table('member_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                            name=op.f('fk_member_consents_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_consents'))
    )
    op.create_index(op.f('ix_member_consents_member_id'), 'member_consents', ['member_id'])
    op.create_table('phone_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=True),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_challenges'))
    )
    for column in ('session_hash', 'phone', 'address_hash', 'created_at'):
        op.create_index(op.f(f'ix_phone_challenges_{column}'), 'phone_challenges', [column])


def downgrade() -> None:
    op.drop_table('phone_challenges')
    op.drop_table('member_consents')
    op.drop_table('page_sessions')
