"""Times as the database stores them: timezone-aware UTC."""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC


def utc(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (naive means UTC) or the current time, as an aware UTC datetime."""
    if now is None:
        return dt.datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def from_db(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime read back (SQLite returns naive UTC) as aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_stamp(value: dt.datetime) -> str:
    """An aware UTC datetime as SQLAlchemy's DateTime stores it in SQLite: naive UTC
    text, ``YYYY-MM-DD HH:MM:SS.ffffff`` (``isoformat`` of the naive value: a
    fraction of ``strftime``'s cost, on the redemption hot path)."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
