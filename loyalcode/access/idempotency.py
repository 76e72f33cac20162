"""Idempotent retries of POST requests (Stripe's model).

The first request that names an ``Idempotency-Key`` claims it by inserting a pending
record (the primary key is the guard: a conflicting insert, never a check-then-write);
its outcome is then stored. A retry with the same key and the same request gets that
outcome back for :data:`KEEP_HOURS` hours; the same key with another request is
:class:`IdempotencyKeyReused`; a retry while the first still runs is
:class:`IdempotencyKeyInProgress`. Requests are compared by a keyed hash under the
caller's API key secret (:func:`request_hash`).

The caller owns the transactions: :func:`claim` in one that commits before the work,
:func:`complete` or :func:`release` in another after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from loyalcode.access.errors import (
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
)
from loyalcode.access.models import IdempotencyRecord

KEEP_HOURS = 24
#: A record still pending after this long belongs to a request that died (a worker
#: killed mid-request): a retry may claim it again.
STALE_PENDING = dt.timedelta(minutes=5)
MAX_KEY = 255
_records = cast(Table, IdempotencyRecord.__table__)


@dataclass(frozen=True, slots=True)
class Replay:
    """The stored outcome of the first request: its HTTP ``status`` and ``body`` (JSON
    text), or ``body`` None when the route recomputes its answer."""

    status: int
    body: str | None


def check_key(key: str) -> str:
    """The key as given, or :class:`InvalidIdempotencyKey`."""
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise InvalidIdempotencyKey(max=MAX_KEY)
    return key


def request_hash(secret: str, method: str, path: str, body: bytes) -> str:
    """A keyed BLAKE2b of the request under the caller's API key secret."""
    h = hashlib.blake2b(key=secret.encode("ascii")[:64], digest_size=32,
                        person=b"loyalcode.idem")
    h.update(method.encode("ascii") + b" " + path.encode("utf-8") + b"\n")
    h.update(body)
    return h.hexdigest()


def claim(conn: Connection, api_key_id: int, key: str, digest: str,
          now: dt.datetime) -> Replay | None:
    """``None`` when this request now owns ``key`` (do the work, then
    :func:`complete`); the stored :class:`Replay` for a retry of a finished request."""
    check_key(key)
    mine = (_records.c.api_key_id == api_key_id) & (_records.c.key == key)
    # an expired record, or a pending one whose request died, is claimed afresh
    conn.execute(delete(_records).where(mine, or_(
        _records.c.created_at < now - dt.timedelta(hours=KEEP_HOURS),
        _records.c.status.is_(None) & (_records.c.created_at < now - STALE_PENDING),
    )))
    values = {"api_key_id": api_key_id, "key": key, "request_hash": digest, "status": None,
              "response": None, "created_at": now}
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    claimed = conn.execute(
        dialect_insert(_records).values(values).on_conflict_do_nothing().returning(_records.c.key)
    ).first()
    if claimed is not None:
        return None
    # the key is taken: by this request before (a retry), or by another
    row = conn.execute(select(_records.c.request_hash, _records.c.status,
                              _records.c.response).where(mine)).one()
    if row.request_hash != digest:
        raise IdempotencyKeyReused(hours=KEEP_HOURS)
    if row.status is None:
        raise IdempotencyKeyInProgress()
    return Replay(status=int(row.status), body=row.response)


def complete(conn: Connection, api_key_id: int, key: str, status: int,
             body: str | None) -> None:
    """Store the outcome of the request that claimed ``key``."""
    conn.execute(update(_records).where(_records.c.api_key_id == api_key_id,
                                        _records.c.key == key)
                 .values(status=status, response=body))


def release(conn: Connection, api_key_id: int, key: str) -> None:
    """Forget a claim whose request ended without an outcome worth keeping (a database
    outage, a throttle: a retry should run again)."""
    conn.execute(delete(_records).where(_records.c.api_key_id == api_key_id,
                                        _records.c.key == key, _records.c.status.is_(None)))


def purge(conn: Connection, now: dt.datetime) -> int:
    """Delete the records older than :data:`KEEP_HOURS`; how many went."""
    result = conn.execute(delete(_records).where(
        _records.c.created_at < now - dt.timedelta(hours=KEEP_HOURS)))
    return int(result.rowcount or 0)
