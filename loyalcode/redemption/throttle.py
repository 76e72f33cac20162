"""Failed-attempt counters per identity, in the database so they hold across processes.

An identity is a phone, an openid or a source (an IP or device id the front end
passes); a scan with none of them has no bucket. A counter is keyed by the identity's
keyed hash (:func:`keyed`, the deployment key's F4), never the phone, openid or source
itself: the table says nothing about who failed without the key. Failures (malformed, typo, forged,
unknown) are counted in a fixed window that starts with the first failure; once an
identity has ``throttle_failures`` failures in its window, every scan from it is
refused with ``throttled`` until the window ends, whether the code is right or wrong,
so the throttle tells a guesser nothing.

A counter whose window has ended says nothing any more (the check ignores it and the
next failure restarts it), so each failure also deletes a few of them
(:data:`PURGE_PER_FAILURE`): the table stays about as large as the identities that
failed in the last window. :func:`purge_expired` deletes them all, for a maintenance job.
"""

from __future__ import annotations

from sqlalchemy import Connection, TextClause, text

from loyalcode.store.keys import Keyring

#: One statement for both databases: insert the counter, or bump it, or restart its
#: window when the old one has ended (SET expressions read the row's old values).
_RECORD = text(
    "INSERT INTO scan_failures (kind, value, failures, window_start) "
    "VALUES (:kind, :value, 1, :now) "
    "ON CONFLICT (kind, value) DO UPDATE SET "
    "failures = CASE WHEN scan_failures.window_start <= :cutoff THEN 1 "
    "ELSE scan_failures.failures + 1 END, "
    "window_start = CASE WHEN scan_failures.window_start <= :cutoff THEN :now "
    "ELSE scan_failures.window_start END"
)

KINDS = ("phone", "openid", "source")

#: How many expired counters each :func:`record_failure` deletes: more than one, so
#: purging outpaces the identities that stop failing.
PURGE_PER_FAILURE = 16


def _purge_sql(postgres: bool, limit: int | None) -> TextClause:
    """Delete counters whose window has ended (``:cutoff``), at most ``limit`` of them.

    Safe beside concurrent upserts: on PostgreSQL the sub-select locks the rows it picks
    and skips any another transaction holds (a failure restarting that window, or
    another purge), so a purge never waits for a row lock; it comes last before the
    commit, so the locks it takes cannot close a deadlock cycle either (the naive
    sub-select without SKIP LOCKED does deadlock, see the tests). Taking the lock
    re-reads the row, so one whose window was just restarted is not picked. SQLite has
    a single writer (BEGIN IMMEDIATE), so a plain sub-select suffices there. Rows just
    upserted have ``window_start = now > :cutoff``, never picked.
    """
    pick = "SELECT kind, value FROM scan_failures WHERE window_start <= :cutoff"
    if limit is not None:
        pick += f" LIMIT {int(limit)}"
    if postgres:
        pick += " FOR UPDATE SKIP LOCKED"
    return text(f"DELETE FROM scan_failures WHERE (kind, value) IN ({pick})")


#: The purge statements, by (PostgreSQL?, bounded per failure?).
_PURGE = {
    (pg, bounded): _purge_sql(pg, PURGE_PER_FAILURE if bounded else None)
    for pg in (False, True)
    for bounded in (False, True)
}


def throttled_since_sql(kinds: tuple[str, ...] = KINDS) -> str:
    """The start of the oldest window that throttles any of the identities of these
    ``kinds`` (NULL: none), each named by its ``:kind`` parameter. The hot path asks
    only for the kinds a scan has: one index probe for a phone alone, where the query
    for all three makes SQLite merge three probes."""
    if not kinds:
        return "SELECT NULL"
    either = " OR ".join(f"(kind = '{kind}' AND value = :{kind}_key)" for kind in kinds)
    return (
        "SELECT min(window_start) FROM scan_failures WHERE failures >= :limit "
        f"AND window_start > :cutoff AND ({either})"
    )


#: :func:`throttled_since_sql` for every kind (NULL parameters match nothing).
THROTTLED_SINCE = throttled_since_sql()
_CHECK = text(THROTTLED_SINCE)

Identities = tuple[tuple[str, str], ...]


def identities(phone: str | None, openid: str | None, source: str | None) -> Identities:
    """The buckets a scan counts in (empty when it names no one)."""
    out = []
    if phone:
        out.append(("phone", phone))
    if openid:
        out.append(("openid", openid))
    if source:
        out.append(("source", source))
    return tuple(out)


def keyed(keyring: Keyring, ids: Identities) -> Identities:
    """The same identities under the keys they are stored by (each hashed once: the
    caller keeps the result for the check, the count and the redemption's source)."""
    return tuple((kind, keyring.identity_key(kind, value)) for kind, value in ids)


def params(ids: Identities) -> dict[str, str | None]:
    """The ``:phone_key``/``:openid_key``/``:source_key`` parameters of
    :data:`THROTTLED_SINCE`, from :func:`keyed` identities."""
    found = dict(ids)
    return {"phone_key": found.get("phone"), "openid_key": found.get("openid"),
            "source_key": found.get("source")}


def throttled_since(
    conn: Connection, ids: Identities, now: float, limit: int, window: int
) -> float | None:
    """When the window that throttles these (:func:`keyed`) identities started, or ``None``."""
    if not ids:
        return None
    value = conn.execute(
        _CHECK, {**params(ids), "limit": limit, "cutoff": now - window}
    ).scalar()
    return None if value is None else float(value)


def record_failure(conn: Connection, ids: Identities, now: float, window: int) -> None:
    """Count one failed attempt for each (:func:`keyed`) identity, then delete up to
    :data:`PURGE_PER_FAILURE` expired counters of anyone (the caller commits)."""
    if ids:
        cutoff = now - window
        conn.execute(
            _RECORD, [{"kind": k, "value": v, "now": now, "cutoff": cutoff} for k, v in ids]
        )
        conn.execute(_PURGE[_postgres(conn), True], {"cutoff": cutoff})


def purge_expired(conn: Connection, now: float, window: int) -> int:
    """Delete every counter whose window has ended; how many (the caller commits).

    On PostgreSQL a counter locked by a concurrent failure at that moment is left for
    the next purge.
    """
    return conn.execute(_PURGE[_postgres(conn), False], {"cutoff": now - window}).rowcount


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"
