"""Points expiry: FIFO lots, ``expire`` ledger entries, ``points_expiring`` notices.

Points expire ``loyalty.expiry_months`` after the local date they were earned (a lot
earned on 2025-03-15 with 12 months is expired by a run as of 2026-03-15 or later).
Spending takes the oldest points first, so what expires is what is left of the
oldest lots (:func:`loyalcode.loyalty.points.lots`).

:func:`expire_points` is idempotent: each ``expire`` entry names the lot it empties,
and the replay that finds what is left sees the entries of earlier runs, so a second
run finds nothing left. On PostgreSQL each member's row is locked (``FOR UPDATE``)
before the replay, so two runs at once, or a run and a gift order, take turns on that
member; on SQLite the writing transaction (BEGIN IMMEDIATE) already does.

Notices: lots that expire within ``loyalty.expiring_notice_days`` after the run's date
get one ``points_expiring`` event per member and expiry date; the primary key of
``expiry_notices`` makes that once, however often the command runs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text

from loyalcode.errors import FutureDate
from loyalcode.events.outbox import EventRef
from loyalcode.loyalty import points
from loyalcode.loyalty.moments import emit_moment
from loyalcode.loyalty.settings import LoyaltySettings
from loyalcode.store.timeutil import UtcDateTime

_TS = UtcDateTime()

_CANDIDATES = text(
    "SELECT DISTINCT l.member_id FROM ledger l JOIN members m ON m.id = l.member_id "
    "WHERE m.balance > 0 AND l.delta > 0 AND l.created_at < :cutoff ORDER BY l.member_id"
).bindparams(bindparam("cutoff", type_=_TS))
_LOCK = text("SELECT id FROM members WHERE id = :member")
_NOTICE = text(
    "INSERT INTO expiry_notices (member_id, expires_on, points, created_at) "
    "VALUES (:member, :expires_on, :points, :now) ON CONFLICT (member_id, expires_on) DO NOTHING "
    "RETURNING member_id"
).bindparams(bindparam("now", type_=_TS), bindparam("expires_on", type_=Date))


@dataclass(frozen=True, slots=True)
class MemberExpiry:
    """What a run did to one member: points expired, expiring notices sent."""

    member: int
    points_expired: int
    notices: int

    def to_dict(self) -> dict[str, Any]:
        return {"member": self.member, "points_expired": self.points_expired,
                "notices": self.notices}


@dataclass(frozen=True, slots=True)
class ExpiryRun:
    """What a run did: members and points expired, notices sent, events raised, and
    per member (``members``: those with points expired or a notice sent)."""

    as_of: dt.date
    members_expired: int
    points_expired: int
    notices: int
    events: tuple[EventRef, ...]
    members: tuple[MemberExpiry, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "members_expired": self.members_expired,
            "points_expired": self.points_expired,
            "notices": self.notices,
            "events": [e.to_dict() for e in self.events],
            "members": [m.to_dict() for m in self.members],
        }


def _cutoff(as_of: dt.date, settings: LoyaltySettings, tz: dt.tzinfo) -> dt.datetime:
    """Lots earned before this instant may expire by ``as_of`` + the notice days."""
    horizon = as_of + dt.timedelta(days=settings.expiring_notice_days)
    earliest = points.add_months(horizon, -settings.expiry_months) + dt.timedelta(days=4)
    return dt.datetime.combine(earliest, dt.time(), tz)


def expire_member(
    conn: Connection,
    member: int,
    as_of: dt.date,
    settings: LoyaltySettings,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> tuple[int, list[EventRef]]:
    """Expire what is left of the member's lots due by ``as_of`` and send notices for
    those due soon; ``(points expired, events)``."""
    lock = _LOCK
    if conn.dialect.name == "postgresql":
        lock = text(str(_LOCK) + " FOR UPDATE")  # serialise with other spenders first
    conn.execute(lock, {"member": member})
    found = points.lots(conn, member, expiry_months=settings.expiry_months, tz=tz)
    expired = 0
    raised: list[EventRef] = []
    due: list[points.Lot] = []
    soon: dict[dt.date, int] = defaultdict(int)
    horizon = as_of + dt.timedelta(days=settings.expiring_notice_days)
    for lot in found:
        if lot.remaining <= 0 or lot.expires_on is None:
            continue
        if lot.expires_on <= as_of:
            due.append(lot)
        elif lot.expires_on <= horizon:
            soon[lot.expires_on] += lot.remaining
    for lot in due:
        if points.take_balance(conn, member, lot.remaining) is None:  # the replay says it is there
            raise AssertionError(f"member {member}: balance below the lots' remainder")
        points.append(
            conn, member, -lot.remaining, "expire",
            f"points earned {lot.earned_at.astimezone(tz).date()} expired {lot.expires_on}",
            now, lot_id=lot.ledger_id,
        )
        expired += lot.remaining
    if expired:
        raised.append(
            emit_moment(conn, "points_expired", member, settings, now,
                        points=expired, as_of=as_of.isoformat())
        )
    for expires_on, amount in sorted(soon.items()):
        sent = conn.execute(
            _NOTICE, {"member": member, "expires_on": expires_on, "points": amount, "now": now}
        ).scalar()
        if sent is not None:
            raised.append(
                emit_moment(conn, "points_expiring", member, settings, now,
                            points=amount, expires_on=expires_on.isoformat())
            )
    return expired, raised


def expire_points(
    conn: Connection,
    settings: LoyaltySettings,
    tz: dt.tzinfo,
    *,
    as_of: dt.date,
    now: dt.datetime,
) -> ExpiryRun:
    """Expire due points of every member and send due notices, in the caller's
    transaction. Running it again with the same date does nothing more.

    ``as_of`` later than ``now``'s day in ``tz`` is refused (``future_date``): points
    expired ahead of time could not be given back. A dry run is this call in a
    transaction the caller rolls back (``loyalcode points expire --dry-run``)."""
    today = now.astimezone(tz).date()
    if as_of > today:
        raise FutureDate(field="--as-of", value=as_of.isoformat(), today=today.isoformat(),
                         why="points expire only on or after their day.")
    if settings.expiry_months == 0:
        return ExpiryRun(as_of, 0, 0, 0, ())
    members = [
        int(m) for m in conn.execute(_CANDIDATES, {"cutoff": _cutoff(as_of, settings, tz)}).scalars()
    ]
    total, touched = 0, 0
    raised: list[EventRef] = []
    done: list[MemberExpiry] = []
    for member in members:
        expired, events = expire_member(conn, member, as_of, settings, tz, now)
        total += expired
        touched += bool(expired)
        raised.extend(events)
        sent = sum(1 for e in events if e.type == "points_expiring")
        if expired or sent:
            done.append(MemberExpiry(member, expired, sent))
    notices = sum(1 for e in raised if e.type == "points_expiring")
    return ExpiryRun(as_of, touched, total, notices, tuple(raised), tuple(done))
