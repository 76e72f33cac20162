"""The redemption hot path: one call per scan, points credited exactly once.

:meth:`Redeemer.redeem` does, in this order of outcomes::

    every argument checked at the edge             (invalid_input, invalid_phone, ...)
    → a phone, an openid or a source named         (identity_required)
    → normalise → check character → tag           (no database yet; the outcome waits)
    → the throttle, first in the state query       (throttled: whatever the code)
    → malformed/typo/forged from the decode
    → the purchase channel, the member rules       (channel_not_found, identity_in_use,
                                                     phone_unverified: nothing about the code)
    → batch by serial range                        (unknown)
    → batch void, window, activation               (batch_void, not_yet_valid, expired, not_activated)
    → member by phone (created on a first scan) or openid (phone_required)
    → INSERT the redemption, unique serial         (already_redeemed)
    → ledger entry, balance, events                — one transaction

The throttle is no oracle: the state query reads it before anything of the code (the
code's lookups are skipped once it throttles), so a throttled identity gets the same
``throttled`` after the same work for a genuine, forged, malformed or redeemed code.
Failures (:mod:`~loyalcode.redemption.throttle` lists them) are counted in the scan's
transaction, which commits the count before the error is raised; a clone alert and its
count are written in a transaction of their own. Written for speed: plain SQL compiled
once, one query for every state check, no ORM object per scan, the key loaded once per
:class:`Redeemer`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import math
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Self

import psycopg
from sqlalchemy import Connection, bindparam, exc, text

from loyalcode.channels.aggregation import place_of
from loyalcode.channels.errors import ChannelNotFound
from loyalcode.channels.regions import RegionList, contains, normalize_region
from loyalcode.channels.sql import BATCH_COLUMNS
from loyalcode.codegen.codec import decode_scan
from loyalcode.codegen.errors import CodeTypo, ForgedCode, MalformedCode
from loyalcode.errors import InvalidInput
from loyalcode.events.outbox import EventRef, emit
from loyalcode.events.settings import EventSettings
from loyalcode.loyalty import members
from loyalcode.loyalty.errors import PhoneRequired
from loyalcode.loyalty.phones import PhonePolicy
from loyalcode.loyalty.sql import OPENID_MEMBER, PHONE_MEMBER_JOIN
from loyalcode.loyalty.tiers import EarnHook
from loyalcode.redemption import throttle
from loyalcode.redemption.errors import (
    AlreadyRedeemed,
    BatchVoidScan,
    Expired,
    IdentityRequired,
    NotActivated,
    NotYetValid,
    Throttled,
    UnknownCode,
)
from loyalcode.redemption.fastpath import PgFastPath
from loyalcode.redemption.fastpath import event_ref as fast_event
from loyalcode.redemption.kept import KeptSet
from loyalcode.redemption.settings import RedemptionSettings
from loyalcode.store import db
from loyalcode.store.context import Context, open_context
from loyalcode.store.inputs import check_text, preview
from loyalcode.store.sql import render
from loyalcode.store.timeutil import UtcDateTime, sqlite_stamp, utc

_TS = UtcDateTime()
MAX_SOURCE = 128
#: Edge caps of the scan's other text arguments (the field's own rule says what fits).
MAX_REGION_ARG = 16
MAX_CHANNEL_ARG = 64
#: A serial no code has: what the state query looks up for a scan that did not decode.
NO_SERIAL = -1


@dataclass(frozen=True, slots=True)
class RedemptionResult:
    """What a successful redemption did.

    ``points`` credited, the member's new ``balance``, the ``batch`` id and its
    ``sku``, the attributed ``channel`` (code) and its region, the ``scan_region``
    the front end passed, the ``purchase_channel`` the consumer named, whether the
    unit left its channel (``diversion``, 窜货) and why (``diversion_reasons``:
    ``"region"`` when the scan lies outside the channel's region, ``"channel"`` when
    the purchase channel is neither the channel nor below it in the distribution
    tree), the ``member`` id, whether the member was created by this scan
    (``joined``), the code's ``serial`` and the ``events`` written to the outbox.
    """

    points: int
    balance: int
    batch: int
    sku: str
    channel: str | None
    diversion: bool
    scan_region: str | None
    channel_region: str | None
    member: int
    events: tuple[EventRef, ...]
    serial: int
    joined: bool
    purchase_channel: str | None = None
    diversion_reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``redeem --json`` body."""
        return {
            "points": self.points,
            "balance": self.balance,
            "batch": self.batch,
            "sku": self.sku,
            "channel": self.channel,
            "diversion": self.diversion,
            "diversion_reasons": list(self.diversion_reasons),
            "scan_region": self.scan_region,
            "channel_region": self.channel_region,
            "purchase_channel": self.purchase_channel,
            "member": self.member,
            "events": [e.to_dict() for e in self.events],
            "serial": self.serial,
            "joined": self.joined,
        }


# --- statements -------------------------------------------------------------------------
#
# The hot path runs these on the DBAPI cursor of the pooled SQLAlchemy connection, in
# the transaction SQLAlchemy began (BEGIN IMMEDIATE on SQLite): each SQLAlchemy
# ``execute`` costs ~60 µs of Python here, more than the statement itself. The SQL is
# written once with ``:name`` parameters and rendered once per paramstyle
# (:func:`loyalcode.redemption.sql.render`); psycopg prepares repeated statements on the server by itself.

#: Everything the state checks need, in one round trip: the throttle, the members the
#: phone and the openid name (with the phone's member's balance), the batch whose range
#: holds the serial, and the newest activation covering it with its channel.
_STATE = (
    "WITH {throttle_cte} "
    f"SELECT {throttle.THROTTLED} AS throttled_since, pm.id AS phone_member, "
    f"pm.balance AS phone_balance, {{openid_member}}, {BATCH_COLUMNS}{{tier_columns}} "
    f"{{state_from}}{PHONE_MEMBER_JOIN}{{tier_join}}"
)

# The UNIQUE serial is the exactly-once guard: the insert either creates the row or
# does nothing (a concurrent transaction with the same serial waits for the first one
# and then does nothing). Never check-then-write.
#
# SQLite's writes take positional parameters: sqlite3 binds a tuple for a fraction of
# what a dict costs (a name lookup per parameter). Each statement says its order.
#: (serial, batch_id, member_id, channel_id, purchase_channel_id, points, scan_region,
#: diversion, source, now)
_SQLITE_INSERT_REDEMPTION = (
    "INSERT INTO redemptions (serial, batch_id, member_id, channel_id, purchase_channel_id, "
    "points, scan_region, diversion, source, redeemed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (serial) DO NOTHING"
)
#: (member_id, points, serial, now)
_SQLITE_INSERT_LEDGER = (
    "INSERT INTO ledger (member_id, delta, kind, reason, redemption_serial, created_at) "
    "VALUES (?, ?, 'earn', 'code redeemed', ?, ?)"
)
#: (points, member_id)
_SQLITE_ADD_BALANCE = (
    "UPDATE members SET balance = balance + ?1, earned_total = earned_total + ?1 WHERE id = ?2"
)
#: (member_id,)
_SQLITE_BALANCE_OF = "SELECT balance FROM members WHERE id = ?"
#: (member_id, payload, now)
_SQLITE_INSERT_EVENT = (
    "INSERT INTO events (type, member_id, payload, created_at) "
    "VALUES ('points_earned', ?, ?, ?)"
)
_REDEEMED_BY = "SELECT member_id FROM redemptions WHERE serial = :serial"
#: The channel a consumer names as where they bought, and whether it is the attributed
#: channel or lies below it in the distribution tree (its ancestors, walked up from
#: it; the depth bound only guards against a cycle no command can make).
_PURCHASE_CHANNEL = (
    "WITH RECURSIVE up(id, parent_id, depth) AS ("
    "SELECT id, parent_id, 0 FROM channels WHERE code = :code "
    "UNION ALL SELECT c.id, c.parent_id, up.depth + 1 FROM channels c "
    "JOIN up ON c.id = up.parent_id WHERE up.depth < 64) "
    "SELECT (SELECT id FROM up WHERE depth = 0), "
    "EXISTS (SELECT 1 FROM up WHERE id = :attributed)"
)
_PHONE_OF = "SELECT phone FROM members WHERE id = :id"

#: PostgreSQL: the redemption, its ledger entry, the balance and the points_earned
#: event in one statement (data-modifying CTEs): one round trip instead of four. When
#: the serial exists, ``r`` is empty and nothing else is written. The balance UPDATE is
#: re-checked on the member's newest row once it has waited for that row's lock: when a
#: merge made it a tombstone meanwhile (or an erasure took its phone), ``u`` is empty
#: though ``r`` is not, and the caller rolls back and redoes the scan
#: (:class:`_MemberMerged`).
_CREDIT_PG = (
    "WITH r AS (INSERT INTO redemptions (serial, batch_id, member_id, channel_id, "
    "purchase_channel_id, points, scan_region, diversion, source, redeemed_at) VALUES (:serial, "
    ":batch_id, :member_id, :channel_id, :purchase_channel_id, :points, :scan_region, :diversion, "
    ":source, :now) ON CONFLICT (serial) DO NOTHING RETURNING serial), "
    "l AS (INSERT INTO ledger (member_id, delta, kind, reason, redemption_serial, created_at) "
    "SELECT :member_id, :points, 'earn', 'code redeemed', r.serial, :now FROM r), "
    "u AS (UPDATE members SET balance = balance + :points, earned_total = earned_total + :points "
    "WHERE id = :member_id AND merged_into_id IS NULL AND phone IS NOT NULL "
    "AND EXISTS (SELECT 1 FROM r) RETURNING balance, earned_total), "
    "e AS (INSERT INTO events (type, member_id, payload, created_at) "
    "SELECT 'points_earned', :member_id, CAST(CAST(:payload AS jsonb) "
    "|| jsonb_build_object('balance', (SELECT balance FROM u)) AS json), :now FROM r RETURNING id) "
    "SELECT (SELECT balance FROM u) AS balance, (SELECT id FROM e) AS event_id, "
    "EXISTS (SELECT 1 FROM r) AS inserted, (SELECT earned_total FROM u) AS earned_total"
)

_CLONE = text(
    "INSERT INTO clone_alerts (serial, batch_id, redeemed_by_id, attempted_by_id, created_at) "
    "VALUES (:serial, :batch_id, :redeemed_by, :attempted_by, :now) "
    "ON CONFLICT (serial) DO NOTHING RETURNING id"
).bindparams(bindparam("now", type_=_TS))

_string = json.encoder.encode_basestring  # a JSON string literal, as json.dumps writes it (in C)


def earned_payload(member: int, phone: str | None, serial: int, batch: int, sku: str,
                   points: int, channel: str | None, tier: str | None, balance: int) -> str:
    """The ``points_earned`` event's JSON, exactly as ``json.dumps(..., ensure_ascii=False)``
    of the same dict writes it (a test holds the two equal), without building the dict
    and walking it. ``phone`` is ``None`` unless payloads carry it (``[events]
    include_phone``): then there is no ``phone`` key."""
    channel_json = "null" if channel is None else _string(channel)
    tier_json = "null" if tier is None else _string(tier)
    phone_json = "" if phone is None else f'"phone": {_string(phone)}, '
    return (
        f'{{"member": {member}, {phone_json}"serial": {serial}, '
        f'"batch": {batch}, "sku": {_string(sku)}, "points": {points}, '
        f'"channel": {channel_json}, "tier": {tier_json}, "balance": {balance}}}'
    )


def _state_sql(tiers: EarnHook | None, kinds: tuple[str, ...] = throttle.KINDS) -> str:
    """:data:`_STATE` for a scan naming identities of these ``kinds``, with the tier
    columns of the phone's member when tiers are on."""
    parts = {
        "throttle_cte": throttle.throttle_cte(kinds),
        "state_from": throttle.state_from(),
        # a scan without an openid has no openid member to look up
        "openid_member": OPENID_MEMBER if "openid" in kinds else "NULL AS openid_member",
        "tier_columns": f", {tiers.STATE_COLUMNS}" if tiers is not None else "",
        "tier_join": tiers.STATE_JOIN if tiers is not None else "",
    }
    return _STATE.format(**parts)


def _as_date(value: Any) -> dt.date | None:
    """A DATE column from the bare driver (SQLite returns ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _close_quietly(conn: Connection) -> None:
    """Close a connection; one already broken has nothing more to release."""
    with contextlib.suppress(exc.DBAPIError):
        conn.close()


class _Failed(Exception):
    """Internal: a refusal that counts against the throttle (counted, then raised, by
    the transaction around :meth:`Redeemer._redeem`)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


class _MemberMerged(Exception):
    """Internal: the member was merged into another (or forgotten: its phone erased)
    while the scan waited for its row."""


_ALERTED = text("SELECT 1 FROM clone_alerts WHERE serial = :serial")


class _CloneAttempt(Exception):
    """Internal: the code was redeemed by another member (alert outside the tx)."""

    def __init__(self, serial: int, batch_id: int, redeemed_by: int, attempted_by: int | None,
                 phone: str | None = None):
        super().__init__()
        self.serial, self.batch_id = serial, batch_id
        self.redeemed_by, self.attempted_by = redeemed_by, attempted_by
        self.phone = phone  # of a member created by the scan, which was rolled back


class Redeemer:
    """The CRM's entry point: ``Redeemer(url).redeem(scan, phone=...)``.

    Takes a database URL (or an open :class:`~loyalcode.store.context.Context`),
    loads and verifies the key once, and reads ``[redemption]`` and ``[events]`` from
    ``loyalcode.toml`` unless ``settings`` and ``events`` are given. Safe to share
    between threads (each call takes its own pooled connection); give each process its
    own.
    """

    def __init__(
        self,
        database: str | Context | None = None,
        *,
        settings: RedemptionSettings | None = None,
        events: EventSettings | None = None,
    ) -> None:
        self._owns_context = not isinstance(database, Context)
        self.context = database if isinstance(database, Context) else open_context(database)
        self.engine = self.context.engine
        self.settings = settings or RedemptionSettings.from_config(self.context.config)
        #: Whether event payloads carry the member's phone (``[events] include_phone``).
        self._include_phone = (events or EventSettings.from_config(self.context.config)).include_phone
        self._keep_source = self.settings.keep_source
        self._keyring = self.context.keyring()
        self._regions = RegionList.from_config(self.context.config)
        self._phones = PhonePolicy.from_config(self.context.config)
        self._tz = self.settings.tzinfo()
        self._pg = pg = self.engine.dialect.name == "postgresql"
        #: What the driver raises from the cursor the hot path runs statements on.
        self._driver_errors: tuple[type[Exception], ...] = (
            (psycopg.Error,) if pg else (sqlite3.Error,)
        )
        self._db_errors: tuple[type[Exception], ...] = (exc.DBAPIError, *self._driver_errors)
        # Loyalty (tiers.py): the tier multiplier and earn-time upgrades; None with one tier.
        self._tiers = EarnHook.build(self.context.config, pg)
        self._one_writer = db.one_writer(self.engine)
        self._sql = {
            name: render(statement, pg)
            for name, statement in (
                ("redeemed_by", _REDEEMED_BY),
                ("purchase_channel", _PURCHASE_CHANNEL), ("phone_of", _PHONE_OF),
                ("credit_pg", _CREDIT_PG),
            )
        }
        # The state query for each set of identities a scan can name (its throttle and
        # openid probes only those), keyed by bits: phone 1, openid 2, source 4.
        self._state = {
            sum(1 << throttle.KINDS.index(k) for k in kinds): render(
                _state_sql(self._tiers, kinds), pg
            )
            for n in range(len(throttle.KINDS) + 1)
            for kinds in itertools.combinations(throttle.KINDS, n)
        }
        # PostgreSQL: the common scan in one autocommit statement (fastpath.py).
        self._fast = (
            PgFastPath(
                self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                self._tiers, self.settings.throttle_failures, self.settings.throttle_window_seconds,
                include_phone=self._include_phone,
            )
            if pg
            else None
        )
        self._local = threading.local()
        self._held = KeptSet()  # this thread's connection goes back to the pool as it ends
        self._window = self.settings.throttle_window_seconds
        self._limit = self.settings.throttle_failures

    def close(self) -> None:
        """Release the connections this Redeemer holds (and close the pool when it
        opened the database)."""
        self._held.release_all()
        self._local = threading.local()
        if self._fast is not None:
            self._fast.close()
        if self._owns_context:
            self.context.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _connection(self) -> Connection:
        """This thread's connection, kept between calls (a pool checkout and a new
        Connection object cost about a fifth of a SQLite redemption)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and not conn.invalidated:
            return conn
        try:
            conn = self.engine.connect()
        except (exc.OperationalError, exc.ProgrammingError) as err:
            raise db.translate_missing_schema(self.engine, err) from None
        self._local.conn = conn
        self._local.raw = conn.connection.driver_connection
        self._local.cursor = self._local.raw.cursor()  # type: ignore[union-attr]
        self._local.kept = self._held.add(conn, _close_quietly)
        return conn

    def _broken(self, conn: Connection, err: BaseException) -> Exception:
        """Forget a connection a database error went through (SQLAlchemy's, or the
        driver's own from the hot path's cursor); the typed error to raise."""
        self._drop(conn)
        return db.typed_error(self.engine, err)

    def _drop(self, conn: Connection) -> None:
        self._local.conn = self._local.kept = None  # the kept connection closes as it goes
        _close_quietly(conn)

    # --- the call -----------------------------------------------------------------------

    def redeem(
        self,
        scan: str,
        *,
        phone: str | None = None,
        openid: str | None = None,
        region: str | None = None,
        source: str | None = None,
        purchase_channel: str | None = None,
        phone_verified: bool = False,
        now: dt.datetime | None = None,
    ) -> RedemptionResult:
        """Redeem one scan (a QR payload URL or a typed code) for a member.

        ``phone`` (any common format; China by default) identifies the member, who
        is created on a first scan; ``openid`` alone works for a member who has bound
        a phone, else ``phone_required``. ``phone_verified=True`` is the caller's word
        that the consumer proved the phone is theirs (an SMS one-time code, WeChat's
        phone-number API): without it a scan never links an openid and a phone
        (``phone_unverified``). ``region`` is where the scan happened (GB/T 2260),
        ``source`` an IP or device id (its own throttle bucket), ``purchase_channel``
        a channel code the consumer names. A scan must name a phone, an openid or a
        source (``identity_required``). ``now`` is for tests.

        Returns a :class:`RedemptionResult`; raises a
        :class:`~loyalcode.codegen.errors.RedemptionError` subclass per refusal, and
        the typed ``invalid_input`` (naming the field) for an argument that is no text
        we take.
        """
        e164 = members.phone_arg(phone, self._phones) if phone is not None else None
        openid_v = members.check_identity("openid", openid) if openid is not None else None
        source_v = _check_source(source)
        scan_region = (
            normalize_region(check_text("region", region, max_length=MAX_REGION_ARG), self._regions)
            if region is not None
            else None
        )
        channel_v = (
            check_text("purchase_channel", purchase_channel, max_length=MAX_CHANNEL_ARG).strip()
            if purchase_channel is not None
            else None
        )
        ids = throttle.identities(e164, openid_v, source_v)
        if not ids:  # no bucket to count in, and no member to credit either
            raise IdentityRequired()
        # Hashed once (F4): the throttle's keys, and the source a redemption keeps.
        ids = throttle.keyed(self._keyring, ids)
        kept_source = source_v if self._keep_source or source_v is None else dict(ids)["source"]
        # Decoded before the throttle is read (the common scan needs its serial in the
        # one statement), but its outcome waits for the throttle's answer.
        refusal: Exception | None = None
        try:
            serial = decode_scan(self._keyring, scan)[1]
        except (MalformedCode, CodeTypo, ForgedCode) as err:
            serial, refusal = NO_SERIAL, err
        when = utc(now)
        ts = when.timestamp()

        if self._fast is not None and e164 is not None and channel_v is None:
            done = self._fast.try_credit(
                serial=serial, phone=e164, openid=openid_v, source=kept_source, ids=ids,
                scan_region=scan_region, when=when, today=when.astimezone(self._tz).date(), ts=ts,
            )
            if done is not None and done[0] is not None:
                raise Throttled(retry_after=self._retry_after(float(done[0]), ts))
            if done is not None and done[1] is not None:
                (_, balance, event_id, member, batch_id, sku, points, channel,
                 channel_region) = done
                return RedemptionResult(
                    points=int(points), balance=int(balance), batch=int(batch_id), sku=sku,
                    channel=channel, diversion=False, scan_region=scan_region,
                    channel_region=channel_region, member=int(member),
                    events=(fast_event(event_id),), serial=serial, joined=False,
                )

        conn = self._connection()
        args = (conn, serial, refusal, e164, openid_v, kept_source, scan_region, channel_v,
                phone_verified, when, ts, ids)
        with self._one_writer:  # SQLite: this process's turn at the one writer
            try:
                try:
                    if self._pg:
                        return self._pg_transaction(conn, args)
                    return self._sqlite_transaction(conn, args)
                except _CloneAttempt as clone:
                    with conn.begin():
                        self._clone_alert(conn, clone, when)
                        over = throttle.record_failure(conn, ids, ts, self._window, self._limit)
                    if over is not None:
                        raise Throttled(retry_after=self._retry_after(over, ts)) from None
                    raise AlreadyRedeemed(same_member=False) from None
            except self._db_errors as err:
                raise self._broken(conn, err) from None

    def _counted(self, conn: Connection, failed: _Failed, ids: throttle.Identities,
                 ts: float) -> Exception:
        """Count a failure in the scan's transaction; the error to raise once it commits
        (``throttled`` when this failure is beyond the limit: concurrent scans that all
        read the throttle before any of them counted)."""
        over = throttle.record_failure(conn, ids, ts, self._window, self._limit)
        if over is not None:
            return Throttled(retry_after=self._retry_after(over, ts))
        return failed.error

    def _pg_transaction(self, conn: Connection, args: tuple[Any, ...]) -> RedemptionResult:
        """:meth:`_redeem` in a transaction, redone from the state query when the member
        was merged into another while the scan waited for its row (each time round
        follows a merge that committed, so this ends). A counted failure commits."""
        ids, ts = args[-1], args[-2]
        while True:
            try:
                with conn.begin():
                    try:
                        return self._redeem(*args)
                    except _Failed as failed:
                        error = self._counted(conn, failed, ids, ts)
                raise error
            except _MemberMerged:
                continue

    def _sqlite_transaction(self, conn: Connection, args: tuple[Any, ...]) -> RedemptionResult:
        """:meth:`_redeem` in a transaction begun and committed on the sqlite3 driver.

        SQLAlchemy's begin/commit cost about a sixth of a SQLite redemption. When the
        rare branches (a new member, a merge, a tier change, a failure counted) use the
        SQLAlchemy connection, it joins this transaction (the engine's "begin" hook sees
        the driver already in one) and the commit goes through SQLAlchemy instead.
        """
        raw = self._local.raw
        self._local.cursor.execute("BEGIN IMMEDIATE")  # the kept cursor: no new one per scan
        error: Exception | None = None
        try:
            try:
                result = self._redeem(*args)
            except _Failed as failed:
                error = self._counted(conn, failed, args[-1], args[-2])
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            elif raw.in_transaction:
                raw.rollback()
            raise
        if conn.in_transaction():
            conn.commit()
        else:
            raw.commit()
        if error is not None:
            raise error
        return result

    def _retry_after(self, since: float, ts: float) -> int:
        return max(1, math.ceil(since + self._window - ts))

    def _redeem(
        self,
        conn: Connection,
        serial: int,
        refusal: Exception | None,
        e164: str | None,
        openid: str | None,
        source: str | None,
        scan_region: str | None,
        purchase_channel: str | None,
        phone_verified: bool,
        when: dt.datetime,
        ts: float,
        ids: throttle.Identities,
    ) -> RedemptionResult:
        """The scan in the caller's transaction. ``source`` is as the redemption keeps it
        (a keyed hash unless ``keep_source``); ``ids`` are the throttle's keyed identities."""
        sql = self._sql
        cur = self._local.cursor
        params = {"phone": e164, "openid": openid, "limit": self._limit,
                  "cutoff": ts - self._window, "serial": serial, **throttle.params(ids)}
        bits = (e164 is not None) | (openid is not None) << 1 | (source is not None) << 2
        cur.execute(self._state[bits], params)
        row = cur.fetchone()
        (throttled_since, phone_member, phone_balance, openid_member, batch_id, serial_end, sku,
         points, status, redeem_from, redeem_until, channel_id, channel_code,
         channel_region) = row[:14]
        # --- what says nothing about the code: the throttle, the decode, the arguments ---
        if throttled_since is not None:  # nothing of the code was read
            raise Throttled(retry_after=self._retry_after(float(throttled_since), ts))
        if refusal is not None:
            raise _Failed(refusal)
        purchase_id, within = None, True
        if purchase_channel is not None:
            cur.execute(sql["purchase_channel"], {"code": purchase_channel,
                                                  "attributed": channel_id})
            purchase_id, within = cur.fetchone()
            if purchase_id is None:
                raise ChannelNotFound(channel=preview(purchase_channel))
        binds = (e164 is not None and openid is not None
                 and (openid_member is None or openid_member != phone_member))
        if binds:  # identity_in_use, phone_unverified: before the code's state
            assert openid is not None
            members.check_bind(conn, phone=e164, identities={"openid": openid},
                               phone_verified=phone_verified, phones=self._phones)
        # --- the code's state: each refusal counts against the throttle ---
        if batch_id is None or serial >= serial_end:
            raise _Failed(UnknownCode())
        if status == "void":
            raise _Failed(BatchVoidScan())
        if redeem_from is not None or redeem_until is not None:
            today = when.astimezone(self._tz).date()
            redeem_from, redeem_until = _as_date(redeem_from), _as_date(redeem_until)
            if redeem_from is not None and today < redeem_from:
                raise _Failed(NotYetValid(redeem_from=redeem_from.isoformat()))
            if redeem_until is not None and today > redeem_until:
                raise _Failed(Expired(redeem_until=redeem_until.isoformat()))
        if status == "closed":
            raise _Failed(Expired(redeem_until="the batch was closed"))
        if channel_id is None or status == "created":
            raise _Failed(NotActivated())

        reasons = []
        if scan_region and channel_region and not contains(channel_region, scan_region):
            reasons.append("region")
        if not within:  # sold by a channel outside the one the unit was shipped to
            reasons.append("channel")
        diversion = bool(reasons)

        raised: list[EventRef] = []
        joined = False
        prefetched = False  # the member is the phone's, unchanged since the state query
        if e164 is None:  # openid alone: only a member who has bound a phone earns
            member = openid_member
            if member is not None:
                cur.execute(sql["phone_of"], {"id": member})
                e164 = cur.fetchone()[0]  # the bound phone (none: it cannot earn)
                if e164 is None:
                    member = None
            if member is None:
                raise PhoneRequired()
        elif binds:
            assert openid is not None
            bound = members.bind(
                conn, now=when, phone=e164, identities={"openid": openid}, via="redeem",
                phones=self._phones,
                include_phone=self._include_phone,
                phone_verified=phone_verified,
            )
            member, joined = bound.member, bound.created
            raised.extend(bound.events)
        else:
            member = phone_member
            prefetched = member is not None
            if member is None:
                member, joined_events = members.create_member(
                    conn, e164, when, "redeem", include_phone=self._include_phone
                )
                joined = bool(joined_events)
                raised.extend(joined_events)

        assert e164 is not None  # every way above ends with the member's phone
        payload_phone = e164 if self._include_phone else None
        # --- loyalty: one query for the tier and its multiplier (tiers.EarnHook) ---
        tier = None
        if self._tiers is not None:
            if prefetched:  # the phone's member, as the state query read it
                tier = self._tiers.prefetched(row[14], row[15])
            else:
                tier = self._tiers.before(cur, member, joined)
        points = tier.credit(int(points)) if tier is not None else int(points)
        # --- end loyalty ---
        tier_name = tier.tier.name if tier is not None else None
        if self._pg:  # the statement overwrites the balance with the one it writes
            payload = earned_payload(member, payload_phone, serial, batch_id, sku, points, channel_code,
                                     tier_name, 0)
            cur.execute(sql["credit_pg"], {
                "serial": serial, "batch_id": batch_id, "member_id": member,
                "channel_id": channel_id, "purchase_channel_id": purchase_id, "points": points,
                "scan_region": scan_region, "diversion": diversion, "source": source,
                "payload": payload, "now": when,
            })
            balance, event_id, inserted, earned_total = cur.fetchone()
            if balance is None:
                if inserted:  # the member is a tombstone now: nothing may stay written
                    raise _MemberMerged()
                self._already_redeemed(cur, serial, batch_id, member, joined, e164)
        else:
            # SQLite: BEGIN IMMEDIATE took the write lock before the state query, so the
            # balance it read for the phone's member cannot have moved since; any other
            # member (new, merged, by openid) is read back after the update.
            stamp = sqlite_stamp(when)
            cur.execute(_SQLITE_INSERT_REDEMPTION, (serial, batch_id, member, channel_id,
                                                    purchase_id, points, scan_region, diversion,
                                                    source, stamp))
            if cur.rowcount == 0:  # the serial exists: nothing was written
                self._already_redeemed(cur, serial, batch_id, member, joined, e164)
            cur.execute(_SQLITE_INSERT_LEDGER, (member, points, serial, stamp))
            cur.execute(_SQLITE_ADD_BALANCE, (points, member))
            if prefetched:
                balance = phone_balance + points
            else:
                cur.execute(_SQLITE_BALANCE_OF, (member,))
                balance = cur.fetchone()[0]
            payload = earned_payload(member, payload_phone, serial, batch_id, sku, points, channel_code,
                                     tier_name, balance)
            cur.execute(_SQLITE_INSERT_EVENT, (member, payload, stamp))
            event_id = cur.lastrowid
            # one writer (BEGIN IMMEDIATE): the lifetime earnings read are still current
            earned_total = tier.earned_total + points if tier is not None else None
        raised.append(EventRef(int(event_id), "points_earned"))
        if tier is not None:  # loyalty: upgrade when this scan reaches a higher tier
            upgraded = self._tiers.after(conn, member, tier, int(earned_total), when)  # type: ignore[union-attr]
            if upgraded is not None:
                raised.append(upgraded)
        if diversion:
            # Only here, never on the common path: the unit's case, pallet and the
            # shipment that sent it to its channel (one more statement).
            place = place_of(conn, serial)
            raised.append(
                emit(
                    conn,
                    "diversion_alert",
                    member,
                    {
                        "member": member,
                        "serial": serial,
                        "batch": batch_id,
                        "channel": channel_code,
                        "channel_region": channel_region,
                        "scan_region": scan_region,
                        "purchase_channel": purchase_channel,
                        "reasons": reasons,
                        "case": place.case,
                        "pallet": place.pallet,
                        "shipment": place.shipment,
                    },
                    when,
                )
            )
        return RedemptionResult(
            points=points,
            balance=int(balance),
            batch=batch_id,
            sku=sku,
            channel=channel_code,
            diversion=diversion,
            scan_region=scan_region,
            channel_region=channel_region,
            member=member,
            events=tuple(raised),
            serial=serial,
            joined=joined,
            purchase_channel=purchase_channel,
            diversion_reasons=tuple(reasons),
        )

    def _already_redeemed(
        self, cur: Any, serial: int, batch_id: int, member: int, joined: bool, phone: str
    ) -> None:
        cur.execute(self._sql["redeemed_by"], {"serial": serial})
        holder = cur.fetchone()[0]
        if holder == member:
            raise AlreadyRedeemed(same_member=True)
        # A member created in this transaction is rolled back with it: the alert's own
        # transaction makes it again, to name who tried.
        if joined:
            raise _CloneAttempt(serial, batch_id, int(holder), None, phone)
        raise _CloneAttempt(serial, batch_id, int(holder), member)

    def _clone_alert(self, conn: Connection, clone: _CloneAttempt, when: dt.datetime) -> None:
        """One clone alert per code, ever: the unique serial of clone_alerts guards it.

        It names the member who tried; a phone seen for the first time becomes a member
        for it (the consumer customer service may have to call), with its
        ``member_joined`` event, when the alert is the code's first."""
        if clone.attempted_by is None and clone.phone is not None:
            first = conn.execute(_ALERTED, {"serial": clone.serial}).first() is None
            if first:
                member, _ = members.create_member(conn, clone.phone, when, "clone_attempt")
                clone.attempted_by = member
        alert = conn.execute(
            _CLONE,
            {
                "serial": clone.serial,
                "batch_id": clone.batch_id,
                "redeemed_by": clone.redeemed_by,
                "attempted_by": clone.attempted_by,
                "now": when,
            },
        ).scalar()
        if alert is not None:
            emit(
                conn,
                "clone_alert",
                None,
                {
                    "serial": clone.serial,
                    "batch": clone.batch_id,
                    "redeemed_by": clone.redeemed_by,
                    "attempted_by": clone.attempted_by,
                },
                when,
            )


def _check_source(source: str | None) -> str | None:
    if source is None:
        return None
    value = check_text("source", source, max_length=MAX_SOURCE * 2).strip()
    if not value or len(value) > MAX_SOURCE or not value.isprintable():
        raise InvalidInput(f"A source is 1 to {MAX_SOURCE} printable characters.", field="source")
    return value

