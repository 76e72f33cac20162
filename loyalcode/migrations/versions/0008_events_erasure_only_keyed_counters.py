"""events: immutable but for acknowledgement and erasure (a trigger); scan_failures keyed

Outbox events are records of what happened (0005 made a merge leave them as written).
This revision has the database hold that, with a trigger on both databases: an UPDATE
of an event may set ``acknowledged_at`` and may remove the ``phone`` from its payload,
and nothing else. Removing the phone is what an erasure does
(``loyalcode member forget``, ``loyalcode.loyalty.erasure``), so an erasure is the one
change a payload may undergo. The trigger recognises it by what it does, not by a flag a
caller sets: the new payload must equal the old one without its ``phone`` key (compared
as jsonb on PostgreSQL, as ``json_remove`` minifies it on SQLite). Every other change
(another key, the type, the member, the time) is refused: SQLSTATE ``LC002`` on
PostgreSQL, ``RAISE(ABORT)`` on SQLite. Inserts (every scan writes one) and deletes
(``events purge``) are not affected; the trigger runs on updates only.

Throttle counters (``scan_failures``) are now keyed by a keyed hash of the phone,
openid or source (the deployment key's F4) instead of the value itself. The counters
written before are deleted: they hold phones and openids in clear, and they live one
throttle window anyway (an identity's count restarts at the upgrade).

On SQLite, a later migration that rebuilds ``events`` in batch mode drops the trigger
with the old table: it must create it again (``tests/loyalty/test_erasure.py`` checks
the trigger at head).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0010'
branch_labels = None
depends_on = None

MESSAGE = (
    "an event is immutable: only acknowledged_at may be set, "
    "and an erasure may remove the phone from its payload"
)

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION loyalcode_event_unchanged() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id
     OR NEW.type IS DISTINCT FROM OLD.type
     OR NEW.member_id IS DISTINCT FROM OLD.member_id
     OR NEW.created_at IS DISTINCT FROM OLD.created_at
     OR (CAST(NEW.payload AS jsonb) IS DISTINCT FROM CAST(OLD.payload AS jsonb)
         AND CAST(NEW.payload AS jsonb) IS DISTINCT FROM CAST(OLD.payload AS jsonb) - 'phone')
  THEN
    RAISE EXCEPTION USING ERRCODE = 'LC002', MESSAGE = '{MESSAGE}';
  END IF;
  RETURN NEW;
END $$
"""

_SQLITE_TRIGGER = f"""
CREATE TRIGGER events_immutable BEFORE UPDATE ON events
WHEN NEW.id IS NOT OLD.id
  OR NEW.type IS NOT OLD.type
  OR NEW.member_id IS NOT OLD.member_id
  OR NEW.created_at IS NOT OLD.created_at
  OR (NEW.payload IS NOT OLD.payload
      AND json(NEW.payload) IS NOT json(OLD.payload)
      AND json(NEW.payload) IS NOT json_remove(OLD.payload, '$.phone'))
BEGIN
  SELECT RAISE(ABORT, '{MESSAGE}');
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER events_immutable BEFORE UPDATE ON events "
            "FOR EACH ROW EXECUTE FUNCTION loyalcode_event_unchanged()"
        )
    else:
        op.execute(_SQLITE_TRIGGER)
    op.execute("DELETE FROM scan_failures")


def downgrade() -> None:
    op.execute("DELETE FROM scan_failures")  # keyed counters mean nothing to 0007's code
    op.execute("DROP TRIGGER IF EXISTS events_immutable" + (
        " ON events" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS loyalcode_event_unchanged()")
