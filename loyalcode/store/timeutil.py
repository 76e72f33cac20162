"""The time policy: instants in UTC, business dates in one business time zone.

* Every stored instant is UTC, read back timezone-aware (UTC). Columns and bound
  parameters use :class:`UtcDateTime`, which converts an aware value of any zone to
  UTC before it is written. PostgreSQL stores ``timestamptz`` (UTC inside). SQLite
  stores one text format, naive UTC with microseconds: ``YYYY-MM-DD HH:MM:SS.ffffff``
  (what SQLAlchemy's ``DateTime`` writes there, and :func:`sqlite_stamp` on the hot
  path), so text order is time order. (SQLAlchemy's plain ``DateTime(timezone=True)``
  on SQLite writes an aware value's wall-clock time and drops its offset: a local
  midnight in Asia/Shanghai became 8 hours late. Migration 0010 corrected what it
  wrote.)
* Every instant in JSON carries its offset (``isoformat()`` of an aware UTC value:
  ``2026-11-23T08:00:00+00:00``).
* Business dates (redemption windows, gift windows, expiry, reports by day) are days
  in one configured zone, ``timezone`` in ``[redemption]`` of ``loyalcode.toml``
  (default ``Asia/Shanghai``): :func:`business_zone`. Outputs that show such a date
  name the zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from loyalcode.errors import ConfigError

UTC = dt.UTC
DEFAULT_BUSINESS_ZONE = "Asia/Shanghai"
_CHINA = dt.timezone(dt.timedelta(hours=8), "CST")


def utc(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (naive means UTC) or the current time, as an aware UTC datetime."""
    if now is None:
        return dt.datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def now_utc() -> dt.datetime:
    """The current time, aware UTC (a column default: SQLAlchemy calls it with no
    argument)."""
    return dt.datetime.now(UTC)


def from_db(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime read back (SQLite returns naive UTC) as aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_stamp(value: dt.datetime) -> str:
    """An aware datetime as SQLite stores instants: naive UTC text,
    ``YYYY-MM-DD HH:MM:SS.ffffff`` (``isoformat`` of the naive value: a fraction of
    ``strftime``'s cost, on the redemption hot path)."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


#: The SQLite text of every stored instant, as a GLOB pattern (migrations, tests).
SQLITE_STAMP_GLOB = (
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] "
    "[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]"
)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An instant: written as UTC (an aware value of any zone is converted; a naive
    value is taken to be UTC), read back aware UTC, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or not isinstance(value, dt.datetime):
            return value
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return from_db(value)


def zone_named(name: str) -> dt.tzinfo:
    """The IANA zone ``name`` (UTC+8 for Asia/Shanghai when the zone database is
    missing), else :class:`ConfigError`."""
    if not isinstance(name, str):
        raise ConfigError(detail="redemption.timezone must be a time zone name")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_BUSINESS_ZONE:
            return _CHINA
        raise ConfigError(detail=f"unknown time zone {name!r}") from None


def business_zone_name(config: Any) -> str:
    """The name of the business time zone: ``timezone`` in ``[redemption]``."""
    name = config.section("redemption").get("timezone", DEFAULT_BUSINESS_ZONE)
    zone_named(name)
    return str(name)


def business_zone(config: Any) -> dt.tzinfo:
    """The business time zone of a deployment (``config``: a :class:`~loyalcode.store.
    config.Config`): the days of redemption and gift windows, expiry and reports."""
    return zone_named(business_zone_name(config))


def day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The instant a business day begins, in UTC."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(UTC)


def business_date(instant: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The business day an instant falls on."""
    return utc(instant).astimezone(zone).date()
