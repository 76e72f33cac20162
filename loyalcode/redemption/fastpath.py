"""PostgreSQL: the common redemption in one autocommit statement, one round trip.

The common scan is a known member (by phone) redeeming an activated code of an active
batch inside its window, with no diversion and no tier change. For it, the state
checks, the redemption (unique serial: the exactly-once guard), the ledger entry, the
balance and the ``points_earned`` event are one statement with data-modifying CTEs. In
autocommit mode a single statement is its own transaction, so there is no BEGIN or
COMMIT round trip: four round trips become one.

The statement reads the throttle first and returns it on every call: a throttled
identity's scan ends here, with the same statement and the same work for every code
(the code's lookups are skipped once it throttles; a scan that did not decode is run
with serial -1), so the answer is no timing oracle. Otherwise the statement writes only
when every check passes; else it writes nothing, and
:class:`~loyalcode.redemption.redeem.Redeemer` takes the full path, which re-reads the
state and raises the precise outcome (``already_redeemed`` with its clone alert,
``not_activated``, a new member, a diversion alert, a tier upgrade, ...). So this
module adds speed, and the throttle's answer, never another outcome.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Any

from loyalcode.channels.sql import BATCH_COLUMNS
from loyalcode.events.outbox import EventRef
from loyalcode.loyalty.sql import OPENID_MEMBER, PHONE_MEMBER_JOIN
from loyalcode.loyalty.tiers import WINDOW_SUM
from loyalcode.redemption import throttle
from loyalcode.redemption.kept import KeptSet
from loyalcode.store.sql import render

_STATE = (
    "WITH {throttle_cte}, s AS MATERIALIZED (SELECT "
    f"{throttle.THROTTLED} AS throttled_since, pm.id AS member_id, "
    f"{OPENID_MEMBER}, {BATCH_COLUMNS}{{tier_columns}} {{state_from}}{PHONE_MEMBER_JOIN}"
    "{tier_join}), "
    "k AS (SELECT s.*, {credited} AS credited, {tier_name} AS tier_name FROM s "
    "WHERE s.throttled_since IS NULL AND s.member_id IS NOT NULL "
    "AND (CAST(:openid AS text) IS NULL OR s.openid_member = s.member_id) "
    "AND s.batch_id IS NOT NULL AND CAST(:serial AS bigint) < s.serial_end "
    "AND s.status = 'active' AND s.channel_id IS NOT NULL "
    "AND (s.redeem_from IS NULL OR s.redeem_from <= CAST(:today AS date)) "
    "AND (s.redeem_until IS NULL OR s.redeem_until >= CAST(:today AS date)) "
    "AND (CAST(:scan_region AS text) IS NULL OR s.channel_region IS NULL "
    " OR starts_with(CAST(:scan_region AS text), s.channel_region)){no_upgrade}), "
    # The UNIQUE serial is the exactly-once guard, as on the full path.
    "r AS (INSERT INTO redemptions (serial, batch_id, member_id, channel_id, "
    "purchase_channel_id, points, scan_region, diversion, source, redeemed_at) "
    "SELECT CAST(:serial AS bigint), k.batch_id, k.member_id, k.channel_id, NULL, k.credited, "
    "CAST(:scan_region AS text), false, CAST(:source AS text), :now FROM k "
    "ON CONFLICT (serial) DO NOTHING RETURNING serial, member_id, points), "
    "l AS (INSERT INTO ledger (member_id, delta, kind, reason, redemption_serial, created_at) "
    "SELECT r.member_id, r.points, 'earn', 'code redeemed', r.serial, :now FROM r), "
    # The member's row is written once, after the serial (the order of every writer:
    # serial, then member). Waiting for the row re-checks the WHERE on its newest version:
    # a merge that committed meanwhile left a tombstone, which matches nothing.
    "u AS (UPDATE members SET balance = members.balance + r.points, "
    "earned_total = members.earned_total + r.points FROM r "
    "WHERE members.id = r.member_id AND members.merged_into_id IS NULL "
    "AND members.phone IS NOT NULL "
    "RETURNING members.balance, members.earned_total), "
    "e AS (INSERT INTO events (type, member_id, payload, created_at) "
    "SELECT 'points_earned', k.member_id, CAST(jsonb_build_object("
    "'member', k.member_id, {phone_field}'serial', CAST(:serial AS bigint), "
    "'batch', k.batch_id, 'sku', k.sku, 'points', k.credited, 'channel', k.channel_code, "
    "'tier', k.tier_name, 'balance', (SELECT balance FROM u)) AS json), :now "
    "FROM k WHERE EXISTS (SELECT 1 FROM r) RETURNING id) "
    # What only the newest row tells: a tombstone or a forgotten member (r written, u
    # not: a merge or an erasure committed while this waited for the row), or an upgrade the
    # snapshot could not see coming. Either undoes the whole statement (0007's function
    # raises), and the full path decides. One row always: the throttle's answer, read
    # first, is the scan's answer when it throttles (whatever the code).
    "SELECT s.throttled_since, (SELECT balance FROM u), (SELECT id FROM e), k.member_id, "
    "k.batch_id, k.sku, k.credited, k.channel_code, k.channel_region, "
    "CASE WHEN k.member_id IS NULL THEN NULL "
    "WHEN EXISTS (SELECT 1 FROM r) AND NOT EXISTS (SELECT 1 FROM u) "
    "THEN loyalcode_fall_back('the member was merged') "
    "WHEN {upgrade_reached} THEN loyalcode_fall_back('a tier is reached') END "
    "FROM s LEFT JOIN k ON true"
)

def _literal(text: str) -> str:
    """An SQL string literal (``%`` doubled: the statement goes through psycopg)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


#: The ``points_earned`` payload's phone (``[events] include_phone``), rendered.
_PHONE_FIELD = "'phone', CAST(%(phone)s AS text), "


def build_sql(tiers: Any | None, include_phone: bool = False) -> str:
    """The statement for a deployment's tiers (``tiers.EarnHook`` or ``None``), whose
    event payload carries the phone when ``include_phone``.

    Parameters are rendered for psycopg before the tier names go in as literals, so a
    name can never be taken for a parameter.
    """
    template = render(_STATE, pg=True)
    state_from = render(throttle.state_from(), pg=True)
    throttle_cte = render(throttle.throttle_cte(), pg=True)
    phone_field = _PHONE_FIELD if include_phone else ""
    if tiers is None:
        return template.format(
            throttle_cte=throttle_cte, state_from=state_from, phone_field=phone_field, tier_columns="",
            tier_join="", credited="s.points",
            tier_name="CAST(NULL AS text)", no_upgrade="", upgrade_reached="false",
        )
    levels = tiers.settings.tiers
    base = levels[0]

    def case(value_of: Any, row: str = "s") -> str:
        whens = " ".join(f"WHEN {_literal(t.name)} THEN {value_of(t)}" for t in levels)
        return f"(CASE {row}.phone_tier {whens} ELSE {value_of(base)} END)"

    def credited(t: Any) -> str:
        if t.multiplier == 1.0:
            return "s.points"
        return f"CAST(floor(s.points * {float(t.multiplier)!r} + 1e-9) AS integer)"

    def next_threshold(t: Any) -> str:
        reach = tiers.next_threshold[t.name]
        return "NULL" if reach is None else str(reach)

    credited_sql, next_sql = case(credited), case(next_threshold)
    window_sum = render(WINDOW_SUM.format(member="s.member_id"), pg=True)
    newest = "(SELECT earned_total FROM u)"  # this scan and all committed before it
    next_of_k = case(next_threshold, row="k")
    window_sum_of_k = render(WINDOW_SUM.format(member="k.member_id"), pg=True)
    return template.format(
        throttle_cte=throttle_cte,
        state_from=state_from,
        phone_field=phone_field,
        tier_columns=", " + render(tiers.STATE_COLUMNS, pg=True),
        tier_join=tiers.STATE_JOIN,
        credited=credited_sql,
        tier_name=case(lambda t: _literal(t.name)),
        # Only when this scan moves no one up a tier (an upgrade takes the full path).
        # The window sum is read only when even the lifetime earnings would reach the
        # next tier (CASE: evaluated in order, the sub-select only in its branch).
        no_upgrade=(
            f" AND (CASE WHEN {next_sql} IS NULL THEN true "
            f"WHEN s.phone_earned_total + {credited_sql} < {next_sql} THEN true "
            f"ELSE ({window_sum}) + {credited_sql} < {next_sql} END)"
        ),
        # The same test once written, on the member's newest row: scans that committed
        # while this one waited for the row are in its earned_total, not in the snapshot
        # (two scans that reach a tier together would each miss the other's points).
        upgrade_reached=(
            f"(CASE WHEN {next_of_k} IS NULL OR {newest} IS NULL THEN false "
            f"WHEN {newest} < {next_of_k} THEN false "
            f"ELSE ({window_sum_of_k}) + {newest} - k.phone_earned_total >= {next_of_k} END)"
        ),
    )


#: The SQLSTATE of ``loyalcode_fall_back()`` (migration 0007): the statement undid itself.
FALL_BACK = "LC001"


class PgFastPath:
    """One autocommit psycopg connection per thread running :func:`build_sql`."""

    def __init__(self, conninfo: str, tiers: Any | None, limit: int, window: int,
                 *, include_phone: bool = False) -> None:
        self._conninfo = conninfo
        self._sql = build_sql(tiers, include_phone)
        self._tiers = tiers
        self._limit = limit
        self._window = window
        self._local = threading.local()
        self._all = KeptSet()  # this thread's connection is closed as it ends

    def _cursor(self) -> Any:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            import psycopg

            conn = psycopg.connect(self._conninfo, autocommit=True)
            cur = conn.cursor()
            self._local.conn, self._local.cur = conn, cur
            self._local.kept = self._all.add(conn, _close_quietly)
        return cur

    def close(self) -> None:
        self._all.release_all()
        self._local = threading.local()

    def try_credit(
        self,
        *,
        serial: int,
        phone: str,
        openid: str | None,
        source: str | None,
        ids: throttle.Identities,
        scan_region: str | None,
        when: dt.datetime,
        today: dt.date,
        ts: float,
    ) -> tuple[Any, ...] | None:
        """``(throttled since, balance, event id, member, batch, sku, points, channel,
        channel region)``: throttled when the first is not ``None`` (nothing read of the
        code), credited when the balance is not ``None``, else nothing was written and
        the full path decides. ``None``: the statement undid itself, or the connection
        broke (the full path reports what is wrong). ``serial`` is -1 for a scan that
        does not decode (only the throttle's answer can come of it). ``source`` is as
        the redemption keeps it; ``ids`` are the scan's identities as the throttle keys
        them (:func:`~loyalcode.redemption.throttle.keyed`)."""
        import psycopg

        params = {
            "phone": phone,
            "openid": openid,
            "source": source,
            **throttle.params(ids),
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
        except psycopg.Error as err:
            if err.sqlstate != FALL_BACK:
                # A broken connection: forget this thread's (closed as it goes), not the
                # other threads' in use; the full path reports what is wrong.
                self._local.conn = self._local.cur = self._local.kept = None
            return None  # (or the statement undid itself: the connection is fine)
        return tuple(row[:9])


def _close_quietly(conn: Any) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error):  # a broken connection: nothing to release
        conn.close()


def event_ref(event_id: int) -> EventRef:
    """The ``points_earned`` event the fast path wrote."""
    return EventRef(int(event_id), "points_earned")
