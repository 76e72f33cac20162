"""events: no member index (the outbox is immutable); scan_failures: by window start

``events.member_id`` lost its index. It served one statement, the merge's re-pointing
of the absorbed member's events, and cost every redemption a random leaf page of its
own in the commit (about a tenth of a SQLite redemption). Outbox events are now
immutable records of what happened: a merge leaves them as they were written (their
payload names the member they were about, as it always did) and says what it joined
in its own ``members_merged`` event.

``scan_failures`` gets an index on ``window_start``, so counters whose window has
ended can be found and purged without reading the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain index statements on both databases: batch mode would copy the tables.
    op.drop_index('ix_events_member_id', table_name='events')
    op.create_index('ix_scan_failures_window_start', 'scan_failures', ['window_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_scan_failures_window_start', table_name='scan_failures')
    op.create_index('ix_events_member_id', 'events', ['member_id'], unique=False)
