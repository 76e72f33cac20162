"""The events outbox: what the CRM reads to send its messages.

An event is written by :func:`emit` on the connection of the transaction that caused
it, so it exists exactly when its cause does. The CRM lists pending events and
acknowledges the ones it has handled; acknowledging twice is harmless.

Types: ``member_joined``, ``points_earned``, ``phone_bound``, ``members_merged``,
``clone_alert``, ``diversion_alert`` (the loyalty programme adds its own). Payloads hold
serials, ids, points and regions, never a code or scanned text.

Every redemption writes an event, so the outbox grows with scans: acknowledged events
(handled by the CRM, never sent again) can be purged once they are old enough with
:func:`purge_acknowledged`, a primary-key range at a time. Pending events are never
purged, and nothing else reads old events (reports count redemptions and alerts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, text

from loyalcode.errors import InvalidInput
from loyalcode.events.errors import EventNotFound
from loyalcode.store.timeutil import UtcDateTime, from_db, utc

_TS = UtcDateTime()

_INSERT = text(
    "INSERT INTO events (type, member_id, payload, created_at) "
    "VALUES (:type, :member_id, :payload, :now) RETURNING id"
).bindparams(bindparam("payload", type_=JSON), bindparam("now", type_=_TS))


@dataclass(frozen=True, slots=True)
class EventRef:
    """An event raised by an operation: its id in the outbox and its type."""

    id: int
    type: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type}


@dataclass(frozen=True, slots=True)
class EventInfo:
    """One outbox row."""

    id: int
    type: str
    member: int | None
    payload: dict[str, Any]
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "member": self.member,
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
        }


def emit(
    conn: Connection, type_: str, member_id: int | None, payload: dict[str, Any], now: dt.datetime
) -> EventRef:
    """Write one event in the caller's transaction."""
    event_id = conn.execute(
        _INSERT, {"type": type_, "member_id": member_id, "payload": payload, "now": now}
    ).scalar_one()
    return EventRef(int(event_id), type_)


def list_events(
    conn: Connection,
    *,
    pending: bool = False,
    after: int = 0,
    limit: int = 1000,
) -> list[EventInfo]:
    """Events in id order: all, or only the unacknowledged ones (``pending``)."""
    from sqlalchemy import select

    from loyalcode.events.models import Event

    stmt = select(Event.__table__).where(Event.id > after).order_by(Event.id).limit(limit)
    if pending:
        stmt = stmt.where(Event.acknowledged_at.is_(None))
    return [
        EventInfo(
            id=r.id,
            type=r.type,
            member=r.member_id,
            payload=r.payload,
            created_at=from_db(r.created_at),  # type: ignore[arg-type]
            acknowledged_at=from_db(r.acknowledged_at),
        )
        for r in conn.execute(stmt)
    ]


_ACK = text(
    "UPDATE events SET acknowledged_at = :now WHERE id = :id AND acknowledged_at IS NULL"
).bindparams(bindparam("now", type_=_TS))
_EXISTS = text("SELECT id FROM events WHERE id = :id")


def acknowledge(conn: Connection, ids: Iterable[int], now: dt.datetime | None = None) -> list[int]:
    """Mark events handled; returns the ids newly acknowledged. Unknown ids are an error
    (:class:`EventNotFound`) and acknowledge nothing, as the caller's transaction rolls back."""
    when = utc(now)
    done: list[int] = []
    for event_id in ids:
        if conn.execute(_EXISTS, {"id": event_id}).first() is None:
            raise EventNotFound(event=event_id)
        if conn.execute(_ACK, {"now": when, "id": event_id}).rowcount:
            done.append(event_id)
    return done


#: Ids per :func:`purge_acknowledged` call: one short transaction each.
PURGE_CHUNK = 10_000

_ID_RANGE = text("SELECT min(id), max(id) FROM events")
_PURGE = text(
    "DELETE FROM events WHERE id >= :lo AND id < :hi "
    "AND acknowledged_at IS NOT NULL AND acknowledged_at < :before"
).bindparams(bindparam("before", type_=_TS))


def id_range(conn: Connection) -> tuple[int, int] | None:
    """The smallest and largest event id, or ``None`` for an empty outbox."""
    low, high = conn.execute(_ID_RANGE).one()
    return None if low is None else (int(low), int(high))


def purge_acknowledged(conn: Connection, before: dt.datetime, lo: int, hi: int) -> int:
    """Delete the events with ids in ``[lo, hi)`` that were acknowledged before
    ``before``; how many (the caller commits). Pending events are never deleted.

    The id range keeps each call a primary-key range scan, so a purge of a large outbox
    runs as many short transactions (see :data:`PURGE_CHUNK`), never one long one.
    """
    return int(conn.execute(_PURGE, {"lo": lo, "hi": hi, "before": utc(before)}).rowcount)


# --- the feed (HTTP ``GET /v1/events``) ---------------------------------------------

#: Most events one page of the feed returns.
MAX_FEED = 1000


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the feed: the events, the cursor to ask with next (``next_after``,
    the last event's id, or the cursor given when the page is empty), and whether a
    full page was returned (``has_more``: ask again at once)."""

    events: tuple[EventInfo, ...]
    next_after: int
    has_more: bool

    def to_dict(self) -> dict[str, Any]:
        return {"events": [e.to_dict() for e in self.events], "next_after": self.next_after,
                "has_more": self.has_more}


_FEED_COLUMNS = "SELECT id, type, member_id, payload, created_at, acknowledged_at FROM events "
# PostgreSQL allocates ids before commit, and transactions commit out of id order. So
# the feed runs in (txid, id) order and returns only events whose transaction is older
# than the oldest one still running in this statement's snapshot (its xmin): every such
# transaction has ended, so that set is final, and a later page can only add events of
# transactions at or above this xmin, after the cursor. One statement, one snapshot.
_FEED_PG = (
    _FEED_COLUMNS
    + "WHERE txid IS NOT NULL AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
    "AND (txid, id) > (:txid, :after) {pending}ORDER BY txid, id LIMIT :limit"
)
_FEED_ONE_WRITER = _FEED_COLUMNS + "WHERE id > :after {pending}ORDER BY id LIMIT :limit"
_TXID_OF = text("SELECT txid FROM events WHERE id = :id")


def _feed_query(sql: str, pending: bool) -> Any:
    sql = sql.replace("{pending}", "AND acknowledged_at IS NULL " if pending else "")
    return text(sql).columns(payload=JSON, created_at=_TS, acknowledged_at=_TS)


_FEEDS = {(dialect, pending): _feed_query(q, pending)
          for dialect, q in (("postgresql", _FEED_PG), ("other", _FEED_ONE_WRITER))
          for pending in (False, True)}


def feed(conn: Connection, *, after: int = 0, limit: int = 100,
         pending: bool = False) -> FeedPage:
    """The events after the cursor ``after`` (0: from the start; else the id of the last
    event a page returned), at most ``limit``, each exactly once to a reader who follows
    ``next_after``, however writers' commits interleave.

    On PostgreSQL the order is that of the writing transactions, then ids (an event
    waits until every transaction older than its own has ended: a long transaction
    holds the feed back while it runs); the cursor must be an event that still exists
    (:class:`EventNotFound` once purged). SQLite has one writer at a time, so ids
    commit in order there and the feed is in id order.
    """
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise InvalidInput(f"after must be a whole number >= 0, got {after!r}.")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_FEED:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_FEED}, got {limit!r}.")
    params: dict[str, Any] = {"after": after, "limit": limit}
    if conn.dialect.name == "postgresql":
        txid: int | None = -1
        if after:
            txid = conn.execute(_TXID_OF, {"id": after}).scalar()
            if txid is None:
                raise EventNotFound(event=after)
        params["txid"] = txid
        query = _FEEDS["postgresql", pending]
    else:
        query = _FEEDS["other", pending]
    rows = tuple(
        EventInfo(id=r.id, type=r.type, member=r.member_id, payload=r.payload,
                  created_at=from_db(r.created_at),  # type: ignore[arg-type]
                  acknowledged_at=from_db(r.acknowledged_at))
        for r in conn.execute(query, params)
    )
    return FeedPage(events=rows, next_after=rows[-1].id if rows else after,
                    has_more=len(rows) == limit)
