"""The anti-counterfeit verdict (防伪查询): what the landing page says of a scanned code.

:meth:`Verdicts.verdict` reads the code's state exactly as
:meth:`~loyalcode.redemption.redeem.Redeemer.redeem` checks it, in the same order, and
credits nothing::

    throttle check (a throttled source gets ``throttled``, valid code or not)
    → normalise → check character → tag           (malformed / typo / forged: raised)
    → batch by serial range                        (unknown: raised)
    → batch void, window, closed, activation       (a Verdict saying which)
    → redeemed?                                    (a Verdict with the date: the clone warning)
    → genuine                                      (a Verdict with the points)

The only write is the per-serial query counter (``code_queries``: the serial, never the
code), the channel team's clone signal, and the failure counter of the throttle for
refusals that count against it (malformed, typo, forged, unknown), as a scan's do, so
that the page is no faster oracle than the scan. A code's state outcomes are not
errors here: the page shows the product beside them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, exc, text

from loyalcode.channels.sql import BATCH_COLUMNS, BATCH_FROM
from loyalcode.codegen.codec import decode_scan
from loyalcode.codegen.errors import CodeTypo, ForgedCode, MalformedCode
from loyalcode.redemption import throttle
from loyalcode.redemption.errors import Throttled, UnknownCode
from loyalcode.redemption.redeem import _as_date, _check_source
from loyalcode.redemption.settings import RedemptionSettings
from loyalcode.store import db
from loyalcode.store.context import Context
from loyalcode.store.timeutil import UtcDateTime, from_db, utc

_TS = UtcDateTime()

#: Every outcome of a verdict, in the order the scan checks them.
STATUSES = ("batch_void", "not_yet_valid", "expired", "not_activated", "already_redeemed",
            "genuine")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the landing page says of an authentic code of a known batch.

    ``status`` is one of :data:`STATUSES`: ``genuine`` (a scan would credit
    ``points``), ``already_redeemed`` (on ``redeemed_at``: the clone warning),
    ``not_activated``, ``not_yet_valid`` (from ``redeem_from``), ``expired`` (after
    ``redeem_until``, or ``closed``) or ``batch_void`` (withdrawn). The product is the
    batch's ``name``, ``sku``, ``gtin``, production ``line`` and date
    (``produced_on``). ``queries`` counts the verdicts asked of this serial, this one
    included, since ``first_queried_at``.
    """

    status: str
    serial: int
    batch: int
    sku: str
    name: str | None
    gtin: str | None
    line: str | None
    produced_on: dt.date | None
    points: int
    redeem_from: dt.date | None
    redeem_until: dt.date | None
    closed: bool
    redeemed_at: dt.datetime | None
    queries: int
    first_queried_at: dt.datetime

    @property
    def genuine(self) -> bool:
        """Authentic, whatever its state (every Verdict is: a fake is an error)."""
        return True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates ISO, instants with their offset)."""
        def iso(value: dt.date | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "status": self.status, "serial": self.serial, "batch": self.batch, "sku": self.sku,
            "name": self.name, "gtin": self.gtin, "line": self.line,
            "produced_on": iso(self.produced_on), "points": self.points,
            "redeem_from": iso(self.redeem_from), "redeem_until": iso(self.redeem_until),
            "closed": self.closed, "redeemed_at": iso(self.redeemed_at),
            "queries": self.queries, "first_queried_at": iso(self.first_queried_at),
        }


#: The state query of the scan (channels.sql), the product, and the redemption if any.
_STATE = (
    "SELECT ({throttled}) AS throttled_since, " + BATCH_COLUMNS + ", b.name, b.gtin, b.line, "
    "b.produced_on, (SELECT r.redeemed_at FROM redemptions r WHERE r.serial = :serial) "
    "AS redeemed_at " + BATCH_FROM
)
#: One more query of the serial; the count and the first query's instant.
_COUNT = text(
    "INSERT INTO code_queries (serial, queries, first_at, last_at) "
    "VALUES (:serial, 1, :now, :now) "
    "ON CONFLICT (serial) DO UPDATE SET queries = code_queries.queries + 1, last_at = :now "
    "RETURNING queries, first_at"
).bindparams(bindparam("now", type_=_TS)).columns(queries=None, first_at=_TS)  # type: ignore[arg-type]


class Verdicts:
    """The verdicts of one deployment: ``Verdicts(context).verdict(scan, source=ip)``.

    Loads the key and ``[redemption]`` (throttle limits, business time zone) once.
    Each call runs its own transactions, as the scan does: a refusal's failure count
    is committed before the refusal is raised. Safe to share between threads.
    """

    def __init__(self, context: Context, *, settings: RedemptionSettings | None = None) -> None:
        self.context = context
        self.engine = context.engine
        self.settings = settings or RedemptionSettings.from_config(context.config)
        self._keyring = context.keyring()
        self._tz = self.settings.tzinfo()
        self._limit = self.settings.throttle_failures
        self._window = self.settings.throttle_window_seconds
        self._one_writer = db.one_writer(self.engine)  # SQLite: the process's turn
        self._state = {
            with_source: text(_STATE.format(throttled=throttle.throttled_since_sql(
                ("source",) if with_source else ())))
            for with_source in (False, True)
        }

    def verdict(self, scan: str, *, source: str | None = None,
                now: dt.datetime | None = None) -> Verdict:
        """The verdict on one scan (a QR payload URL or a typed code).

        ``source`` (the client's address) is the throttle's bucket; ``None`` counts
        nowhere. Raises :class:`~loyalcode.redemption.errors.Throttled`,
        :class:`~loyalcode.codegen.errors.MalformedCode`, ``CodeTypo``,
        ``ForgedCode`` or :class:`~loyalcode.redemption.errors.UnknownCode`;
        ``database_unavailable`` when the database is away.
        """
        when = utc(now)
        ts = when.timestamp()
        ids = throttle.keyed(self._keyring, throttle.identities(None, None, _check_source(source)))
        try:
            try:
                serial = decode_scan(self._keyring, scan)[1]
            except (MalformedCode, CodeTypo, ForgedCode):
                if ids:
                    with self._one_writer, self.engine.begin() as conn:
                        self._check_throttle(conn, ids, ts)
                        throttle.record_failure(conn, ids, ts, self._window)
                raise
            with self._one_writer, self.engine.begin() as conn:
                found = self._read(conn, serial, ids, when, ts)
        except exc.DBAPIError as err:
            raise db.typed_error(self.engine, err) from None
        if isinstance(found, UnknownCode):
            raise found
        return found

    def _check_throttle(self, conn: Connection, ids: throttle.Identities, ts: float) -> None:
        since = throttle.throttled_since(conn, ids, ts, self._limit, self._window)
        if since is not None:
            raise Throttled(retry_after=self._retry_after(since, ts))

    def _retry_after(self, since: float, ts: float) -> int:
        return max(1, math.ceil(since + self._window - ts))

    def _read(self, conn: Connection, serial: int, ids: throttle.Identities,
              when: dt.datetime, ts: float) -> Verdict | UnknownCode:
        params = {**throttle.params(ids), "limit": self._limit, "cutoff": ts - self._window,
                  "serial": serial}
        row = conn.execute(self._state[bool(ids)], params).one()
        (throttled_since, batch_id, serial_end, sku, points, status, redeem_from, redeem_until,
         channel_id, _channel_code, _channel_region, name, gtin, line, produced_on,
         redeemed_at) = row
        if throttled_since is not None:
            raise Throttled(retry_after=self._retry_after(float(throttled_since), ts))
        if batch_id is None or serial >= serial_end:
            if ids:  # committed with this transaction; raised after it
                throttle.record_failure(conn, ids, ts, self._window)
            return UnknownCode()
        redeem_from, redeem_until = _as_date(redeem_from), _as_date(redeem_until)
        today = when.astimezone(self._tz).date()
        # The scan's order of refusals (redeem.Redeemer._redeem), then the redemption.
        if status == "void":
            outcome = "batch_void"
        elif redeem_from is not None and today < redeem_from:
            outcome = "not_yet_valid"
        elif (redeem_until is not None and today > redeem_until) or status == "closed":
            outcome = "expired"
        elif channel_id is None or status == "created":
            outcome = "not_activated"
        elif redeemed_at is not None:
            outcome = "already_redeemed"
        else:
            outcome = "genuine"
        queries, first_at = conn.execute(_COUNT, {"serial": serial, "now": when}).one()
        return Verdict(
            status=outcome, serial=serial, batch=int(batch_id), sku=sku, name=name, gtin=gtin,
            line=line, produced_on=_as_date(produced_on), points=int(points),
            redeem_from=redeem_from, redeem_until=redeem_until, closed=status == "closed",
            redeemed_at=_instant(redeemed_at), queries=int(queries),
            first_queried_at=_instant(first_at) or when,
        )


def _instant(value: Any) -> dt.datetime | None:
    """An instant column read through ``text()`` (SQLite gives its stored text)."""
    if isinstance(value, str):
        return from_db(dt.datetime.fromisoformat(value))
    return from_db(value)
