"""SQLite: every stored instant as naive UTC text in one format; gift windows shifted

Before, SQLAlchemy's ``DateTime(timezone=True)`` on SQLite wrote an aware value's
wall-clock time and dropped its offset. ``gift add --from/--until`` passes local
midnights of the business time zone (``[redemption] timezone``), so gift windows
were stored 8 hours late in Asia/Shanghai: a gift that ended yesterday could still be
ordered before 08:00. Every other instant was written from UTC values, so only the
gift windows have that fault (checked: every writer of every instant column). And
``server_default=now()`` wrote ``YYYY-MM-DD HH:MM:SS`` (no fraction) where every other
writer wrote ``YYYY-MM-DD HH:MM:SS.ffffff``.

This migration, on SQLite only (PostgreSQL's ``timestamptz`` was right):

* shifts the gift windows (``gifts.active_from``/``active_until``) that are local
  midnights, as the CLI wrote them, from the business zone to UTC;
* rewrites every instant not in the one format (no fraction, a ``T``, an offset) as
  naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``, converting any offset it carries.

The business zone comes from the alembic attribute ``business_timezone`` if the
caller set one, else from the deployment's ``loyalcode.toml`` (as every command reads
it). The downgrade leaves the corrected values: older code reads them right.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None

#: Every instant column of the schema at 0007, by table.
INSTANTS: dict[str, tuple[str, ...]] = {
    "deployment": ("created_at",),
    "batches": ("created_at", "voided_at"),
    "channels": ("created_at",),
    "activations": ("created_at",),
    "redemptions": ("redeemed_at",),
    "clone_alerts": ("created_at",),
    "events": ("created_at", "acknowledged_at"),
    "event_deliveries": ("lease_until", "last_attempt_at", "delivered_at"),
    "members": ("created_at",),
    "member_identities": ("created_at",),
    "ledger": ("created_at",),
    "ledger_refs": ("created_at",),
    "member_profiles": ("updated_at", "completed_at", "bonus_at"),
    "member_tiers": ("changed_at",),
    "gifts": ("active_from", "active_until", "created_at"),
    "gift_orders": ("created_at", "cancelled_at"),
    "expiry_notices": ("created_at",),
}
#: Columns the CLI wrote as local midnights of the business zone.
LOCAL_MIDNIGHTS: dict[str, tuple[str, ...]] = {"gifts": ("active_from", "active_until")}

_ONE_FORMAT = (
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] "
    "[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]"
)


def _stamp(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _zone(bind: sa.Connection) -> dt.tzinfo:
    from loyalcode.store.config import load_config
    from loyalcode.store.timeutil import business_zone, zone_named

    config = op.get_context().config
    named = config.attributes.get("business_timezone") if config is not None else None
    if named:
        return zone_named(named)
    return business_zone(load_config(bind.engine.url.render_as_string(hide_password=False)))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    zone = _zone(bind)
    for table, columns in LOCAL_MIDNIGHTS.items():
        for column in columns:
            rows = bind.execute(sa.text(
                f"SELECT rowid, {column} FROM {table} "
                f"WHERE {column} IS NOT NULL AND substr({column}, 12, 8) = '00:00:00' "
                f"AND substr({column}, 20) IN ('', '.000000')"
            )).all()
            for rowid, value in rows:
                local = dt.datetime.fromisoformat(value[:19]).replace(tzinfo=zone)
                bind.execute(
                    sa.text(f"UPDATE {table} SET {column} = :v WHERE rowid = :r"),
                    {"v": _stamp(local), "r": rowid},
                )
    for table, columns in INSTANTS.items():
        for column in columns:
            rows = bind.execute(sa.text(
                f"SELECT rowid, {column} FROM {table} "
                f"WHERE {column} IS NOT NULL AND {column} NOT GLOB '{_ONE_FORMAT}'"
            )).all()
            for rowid, value in rows:
                bind.execute(
                    sa.text(f"UPDATE {table} SET {column} = :v WHERE rowid = :r"),
                    {"v": _stamp(dt.datetime.fromisoformat(str(value))), "r": rowid},
                )


def downgrade() -> None:
    """Nothing to undo: the corrected values are naive UTC, which older code reads right."""
