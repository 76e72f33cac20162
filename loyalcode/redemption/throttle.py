"""Failed-attempt counters per identity, in the database so they hold across processes.

An identity is a phone, an openid or a source (an IP or device id the front end
passes). A scan names at least one (the scan refuses one that names none,
``identity_required``), and every failure counts in the bucket of each identity it
names: a source's bucket counts whatever phones and openids come with it, so rotating
phones from one source is throttled like one phone.

Failures are the answers that tell something about a code the scanner could not
redeem: ``malformed``, ``typo``, ``forged``, ``unknown``, ``not_activated``,
``batch_void``, ``not_yet_valid``, ``expired``, and ``already_redeemed`` by another
member (not ``phone_required``: that is the onboarding step, for a live code). They
are counted in a fixed window that starts with the first failure. Once an identity has
``throttle_failures`` failures in its window, every scan from it is refused with
``throttled`` until the window ends, whatever the code; the scan reads the throttle
before any state of the code, in the same statement and round trip, so the answer and
its timing are the same for a genuine, forged, malformed or redeemed code (no
oracle). :func:`record_failure` returns the counters as it left them, so a failure
beyond the limit (concurrent scans that all read "not throttled") is answered
``throttled`` too: no more than ``throttle_failures`` answers per window, however many
requests race.

A counter whose window has ended says nothing any more (the check ignores it and the
next failure restarts it), so each failure also deletes a few of them
(:data:`PURGE_PER_FAILURE`): the table stays about as large as the identities that
failed in the last window. :func:`purge_expired` deletes them all, for a maintenance job.
"""

from __future__ import annotations

from sqlalchemy import Connection, TextClause, text

from loyalcode.channels.sql import code_joins
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
    "ELSE scan_failures.window_start END "
    "RETURNING failures, window_start"
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
    ``kinds`` (NULL: none), each named by its ``:t_kind`` parameter (:func:`params`).
    The hot path asks only for the kinds a scan has: one index probe for a phone alone,
    where the query for all three makes SQLite merge three probes."""
    if not kinds:
        return "SELECT NULL"
    either = " OR ".join(f"(kind = '{kind}' AND value = :t_{kind})" for kind in kinds)
    return (
        "SELECT min(window_start) FROM scan_failures WHERE failures >= :limit "
        f"AND window_start > :cutoff AND ({either})"
    )


def throttle_cte(kinds: tuple[str, ...] = KINDS) -> str:
    """The scan's state query starts ``WITH`` this: ``g``, one row, the throttle's
    answer (``g.throttled_since``), read once (a CTE used more than once is computed
    once, on both databases)."""
    return f"g AS (SELECT ({throttled_since_sql(kinds)}) AS throttled_since)"


#: The throttle's answer in the state query's select list.
THROTTLED = "(SELECT g.throttled_since FROM g)"

#: The scan's serial as the code's lookups see it: NULL once the identity is throttled,
#: so that a throttled scan reads nothing of any code (the same work for every code).
#: Uncorrelated, so that PostgreSQL computes it once and probes each index with it.
GATED_SERIAL = (
    "(SELECT CASE WHEN g.throttled_since IS NULL THEN CAST(:serial AS bigint) END FROM g)"
)


def state_from() -> str:
    """The FROM clause of the scan's state query (after :func:`throttle_cte`): the
    batch, activation span and channel of the serial
    (:func:`~loyalcode.channels.sql.code_joins`), looked up only when the identity is
    not throttled."""
    return "FROM (SELECT 1 AS one) AS x " + code_joins(GATED_SERIAL)


#: :func:`throttled_since_sql` for every kind (NULL parameters match nothing).
THROTTLED_SINCE = throttled_since_sql()
_CHECK = text(THROTTLED_SINCE)

Identities = tuple[tuple[str, str], ...]


def identities(phone: str | None, openid: str | None, source: str | None) -> Identities:
    """The buckets a scan counts in (empty when it names no one): each identity the
    scan names, as ``(kind, the value stored in scan_failures)``. The one place that
    says what is stored for an identity."""
    out = []
    if phone:
        out.append(("phone", phone))
    if openid:
        out.append(("openid", openid))
    if source:
        out.append(("source", source))
    return tuple(out)


def keyed(keyring: Keyring, ids: Identities) -> Identities:
    """The same identities under the keys they are stored by: a keyed hash (the
    deployment key's F4), never the phone, openid or source itself, so the table says
    nothing about who failed without the key. Each is hashed once: the caller keeps the
    result for the check, the count and the redemption's source."""
    return tuple((kind, keyring.identity_key(kind, value)) for kind, value in ids)


def params(ids: Identities) -> dict[str, str | None]:
    """The ``:t_phone``/``:t_openid``/``:t_source`` parameters of
    :data:`THROTTLED_SINCE` (apart from the scan's own ``:phone``/``:openid``: what a
    bucket stores need not be what names the member)."""
    found = dict(ids)
    return {f"t_{kind}": found.get(kind) for kind in KINDS}


def throttled_since(
    conn: Connection, ids: Identities, now: float, limit: int, window: int
) -> float | None:
    """When the window that throttles these identities started, or ``None``."""
    if not ids:
        return None
    value = conn.execute(
        _CHECK, {**params(ids), "limit": limit, "cutoff": now - window}
    ).scalar()
    return None if value is None else float(value)


def record_failure(
    conn: Connection, ids: Identities, now: float, window: int, limit: int | None = None
) -> float | None:
    """Count one failed attempt for each identity, then delete up to
    :data:`PURGE_PER_FAILURE` expired counters of anyone (the caller commits).

    With ``limit``: the start of the window of a counter this failure took beyond the
    limit (the caller answers ``throttled``), else ``None``. The upsert locks each
    counter's row, so concurrent failures see each other's counts.
    """
    over: float | None = None
    if ids:
        cutoff = now - window
        for kind, value in ids:
            failures, start = conn.execute(
                _RECORD, {"kind": kind, "value": value, "now": now, "cutoff": cutoff}
            ).one()
            if limit is not None and failures > limit:
                over = float(start) if over is None else min(over, float(start))
        conn.execute(_PURGE[_postgres(conn), True], {"cutoff": cutoff})
    return over


def purge_expired(conn: Connection, now: float, window: int) -> int:
    """Delete every counter whose window has ended; how many (the caller commits).

    On PostgreSQL a counter locked by a concurrent failure at that moment is left for
    the next purge.
    """
    return conn.execute(_PURGE[_postgres(conn), False], {"cutoff": now - window}).rowcount


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"
