"""Failed-attempt counters per identity, in the database so they hold across processes.

An identity is a phone, an openid or a source (an IP or device id the front end
passes); a scan with none of them has no bucket. Failures (malformed, typo, forged,
unknown) are counted in a fixed window that starts with the first failure; once an
identity has ``throttle_failures`` failures in its window, every scan from it is
refused with ``throttled`` until the window ends, whether the code is right or wrong,
so the throttle tells a guesser nothing.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

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


def throttled_since_sql(kinds: tuple[str, ...] = KINDS) -> str:
    """The start of the oldest window that throttles any of the identities of these
    ``kinds`` (NULL: none), each named by its ``:kind`` parameter. The hot path asks
    only for the kinds a scan has: one index probe for a phone alone, where the query
    for all three makes SQLite merge three probes."""
    if not kinds:
        return "SELECT NULL"
    either = " OR ".join(f"(kind = '{kind}' AND value = :{kind})" for kind in kinds)
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


def params(ids: Identities) -> dict[str, str | None]:
    """The ``:phone``/``:openid``/``:source`` parameters of :data:`THROTTLED_SINCE`."""
    found = dict(ids)
    return {"phone": found.get("phone"), "openid": found.get("openid"), "source": found.get("source")}


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


def record_failure(conn: Connection, ids: Identities, now: float, window: int) -> None:
    """Count one failed attempt for each identity (the caller commits)."""
    if ids:
        conn.execute(
            _RECORD,
            [{"kind": k, "value": v, "now": now, "cutoff": now - window} for k, v in ids],
        )
