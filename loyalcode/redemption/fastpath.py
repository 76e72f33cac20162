"""PostgreSQL: the common redemption in one autocommit statement, one round trip.

The common scan is a known member (by phone) redeeming an activated code of an active
batch inside its window, with no diversion and no tier change. For it, the state
checks, the redemption (unique serial: the exactly-once guard), the ledger entry, the
balance and the ``points_earned`` event are one statement with data-modifying CTEs. In
autocommit mode a single statement is its own transaction, so there is no BEGIN or
COMMIT round trip: four round trips become one.

The statement writes only when every check passes. Otherwise it writes nothing and
returns no result, and :class:`~loyalcode.redemption.redeem.Redeemer` takes the full
path, which re-reads the state and raises the precise outcome (``already_redeemed``
with its clone alert, ``throttled``, ``not_activated``, a new member, a diversion
alert, a tier upgrade, ...). So this module adds speed, never a new outcome.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from typing import Any

from loyalcode.redemption import throttle
from loyalcode.redemption.events import EventRef

_STATE = (
    "WITH s AS (SELECT "
    "({throttled}) AS throttled_since, "
    "pm.id AS member_id, "
    "(SELECT i.member_id FROM member_identities i WHERE i.kind = 'openid' "
    " AND i.value = %(openid)s::text) AS openid_member, "
    "b.id AS batch_id, b.serial_end, b.sku, b.points AS base_points, b.status, "
    "b.redeem_from, b.redeem_until, a.channel_id, c.code AS channel_code, "
    "c.region AS channel_region{tier_columns} "
    "FROM (SELECT 1 AS one) AS x "
    "LEFT JOIN members pm ON pm.phone = %(phone)s::text "
    "LEFT JOIN batches b ON b.id = (SELECT b2.id FROM batches b2 "
    " WHERE b2.serial_start <= %(serial)s::bigint ORDER BY b2.serial_start DESC LIMIT 1) "
    "LEFT JOIN activations a ON a.id = (SELECT a2.id FROM activations a2 WHERE a2.batch_id = b.id "
    " AND a2.serial_start <= %(serial)s::bigint AND a2.serial_end > %(serial)s::bigint "
    " ORDER BY a2.id DESC LIMIT 1) "
    "LEFT JOIN channels c ON c.id = a.channel_id{tier_join}), "
    "k AS (SELECT s.*, {credited} AS credited, {tier_name} AS tier_name FROM s "
    "WHERE s.throttled_since IS NULL AND s.member_id IS NOT NULL "
    "AND (%(openid)s::text IS NULL OR s.openid_member = s.member_id) "
    "AND s.batch_id IS NOT NULL AND %(serial)s::bigint < s.serial_end "
    "AND s.status = 'active' AND s.channel_id IS NOT NULL "
    "AND (s.redeem_from IS NULL OR s.redeem_from <= %(today)s::date) "
    "AND (s.redeem_until IS NULL OR s.redeem_until >= %(today)s::date) "
    "AND (%(scan_region)s::text IS NULL OR s.channel_region IS NULL "
    " OR starts_with(%(scan_region)s::text, s.channel_region)){no_upgrade}), "
    # The UNIQUE serial is the exactly-once guard, as on the full path.
    "r AS (INSERT INTO redemptions (serial, batch_id, member_id, channel_id, "
    "purchase_channel_id, points, scan_region, diversion, source, redeemed_at) "
    "SELECT %(serial)s::bigint, k.batch_id, k.member_id, k.channel_id, NULL, k.credited, "
    "%(scan_region)s::text, false, %(source)s::text, %(now)s FROM k "
    "ON CONFLICT (serial) DO NOTHING RETURNING serial, member_id, points), "
    "l AS (INSERT INTO ledger (member_id, delta, kind, reason, redemption_serial, created_at) "
    "SELECT r.member_id, r.points, 'earn', 'code redeemed', r.serial, %(now)s FROM r), "
    "u AS (UPDATE members SET balance = members.balance + r.points FROM r "
    "WHERE members.id = r.member_id RETURNING members.balance), "
    "e AS (INSERT INTO events (type, member_id, payload, created_at) "
    "SELECT 'points_earned', k.member_id, CAST(jsonb_build_object("
    "'member', k.member_id, 'phone', %(phone)s::text, 'serial', %(serial)s::bigint, "
    "'batch', k.batch_id, 'sku', k.sku, 'points', k.credited, 'channel', k.channel_code, "
    "'tier', k.tier_name, 'balance', (SELECT balance FROM u)) AS json), %(now)s "
    "FROM k WHERE EXISTS (SELECT 1 FROM r) RETURNING id) "
    "SELECT (SELECT balance FROM u), (SELECT id FROM e), k.member_id, k.batch_id, k.sku, "
    "k.credited, k.channel_code, k.channel_region FROM k"
)


def _literal(text: str) -> str:
    """An SQL string literal (``%`` doubled: the statement goes through psycopg)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


#: The throttle check, with psycopg's ``%(name)s`` parameters.
_THROTTLED = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", throttle.THROTTLED_SINCE)


def build_sql(tiers: Any | None) -> str:
    """The statement for a deployment's tiers (``tiers.EarnHook`` or ``None``)."""
    if tiers is None:
        return _STATE.format(
            throttled=_THROTTLED, tier_columns="", tier_join="", credited="s.base_points",
            tier_name="CAST(NULL AS text)", no_upgrade="",
        )
    settings = tiers.settings
    levels = settings.tiers
    base = levels[0]

    def case(value_of: Any) -> str:
        whens = " ".join(f"WHEN {_literal(t.name)} THEN {value_of(t)}" for t in levels)
        return f"(CASE s.stored_tier {whens} ELSE {value_of(base)} END)"

    def credited(t: Any) -> str:
        if t.multiplier == 1.0:
            return "s.base_points"
        return f"CAST(floor(s.base_points * {float(t.multiplier)!r} + 1e-9) AS integer)"

    def next_threshold(t: Any) -> str:
        higher = [x.threshold for x in levels if x.threshold > t.threshold]
        return str(min(higher)) if higher else "NULL"

    credited_sql = case(credited)
    return _STATE.format(
        throttled=_THROTTLED,
        tier_columns=", mt.tier AS stored_tier, (SELECT coalesce(sum(l.delta), 0) FROM ledger l "
        "WHERE l.member_id = pm.id AND l.kind = 'earn' AND l.created_at >= %(since)s) AS earned",
        tier_join=" LEFT JOIN member_tiers mt ON mt.member_id = pm.id",
        credited=credited_sql,
        tier_name=case(lambda t: _literal(t.name)),
        # Only when this scan moves no one up a tier (an upgrade takes the full path).
        no_upgrade=f" AND ({case(next_threshold)} IS NULL "
        f"OR s.earned + {credited_sql} < {case(next_threshold)})",
    )


class PgFastPath:
    """One autocommit psycopg connection per thread running :func:`build_sql`."""

    def __init__(self, conninfo: str, tiers: Any | None, limit: int, window: int) -> None:
        self._conninfo = conninfo
        self._sql = build_sql(tiers)
        self._tiers = tiers
        self._limit = limit
        self._window = window
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _cursor(self) -> Any:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            import psycopg

            conn = psycopg.connect(self._conninfo, autocommit=True)
            cur = conn.cursor()
            self._local.conn, self._local.cur = conn, cur
            with self._lock:
                self._all.append(conn)
        return cur

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        import psycopg

        for conn in conns:
            with contextlib.suppress(psycopg.Error):  # a broken connection: nothing to release
                conn.close()
        self._local = threading.local()

    def try_credit(
        self,
        *,
        serial: int,
        phone: str,
        openid: str | None,
        source: str | None,
        scan_region: str | None,
        when: dt.datetime,
        today: dt.date,
        ts: float,
    ) -> tuple[int, int, int, int, str, int, str, str | None] | None:
        """``(balance, event id, member, batch, sku, points, channel, channel region)``
        when the scan was credited, or ``None`` (nothing written: take the full path)."""
        import psycopg

        params = {
            **throttle.params(throttle.identities(phone, openid, source)),
            "limit": self._limit,
            "cutoff": ts - self._window,
            "serial": serial,
            "today": today,
            "scan_region": scan_region,
            "now": when,
        }
        if self._tiers is not None:
            params["since"] = self._tiers.since_param(when)
        try:
            cur = self._cursor()
            cur.execute(self._sql, params)
            row = cur.fetchone()
        except psycopg.Error:
            # A broken connection: forget it; the full path reports what is wrong.
            conn = getattr(self._local, "conn", None)
            self._local = threading.local()
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.close()
            return None
        if row is None or row[0] is None:
            return None
        return row  # type: ignore[no-any-return]


def event_ref(event_id: int) -> EventRef:
    """The ``points_earned`` event the fast path wrote."""
    return EventRef(int(event_id), "points_earned")
