"""Reports for the channel team: codes issued, activated and redeemed, the redemption
rate, points issued and spent, diversion (窜货) and clone alerts.

Grouped ``by`` batch, channel, region (the channel's region) or day (of the
redemption, in the redemption time zone), optionally for one batch. Definitions:

* ``codes_issued``: codes in the batch (by batch and in the totals);
* ``codes_activated``: codes whose newest activation belongs to the batch / channel /
  region (a re-activation moves codes, it never counts them twice);
* ``redemption_rate``: ``codes_redeemed / codes_activated`` (``None`` when nothing is
  activated);
* ``points_issued``: points credited by scans (multipliers included);
* ``points_spent``: points paid for gifts less refunds (by day and in the totals; a
  gift is not bought from a batch or a channel);
* ``diversion_alerts``: redemptions flagged as diversions; ``clone_alerts``: codes
  scanned again by another member, attributed by the code's batch / channel / day of
  the alert.

The work is a few grouped scans of ``redemptions`` (one for a single batch: its serial
range, through the unique serial index) plus small tables (batches, activation
spans, channels, clone alerts, ``ledger_refs``); the big ``ledger`` is never read, because
the loyalty entries are mirrored in ``ledger_refs``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from loyalcode.codegen.errors import BatchNotFound
from loyalcode.errors import InvalidInput

GROUPINGS = ("batch", "channel", "region", "day")
_FIGURES = (
    "codes_issued", "codes_activated", "codes_redeemed", "redemption_rate", "points_issued",
    "points_spent", "diversion_alerts", "clone_alerts",
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One group of a report: its key and its figures."""

    key: dict[str, Any]
    codes_issued: int | None
    codes_activated: int | None
    codes_redeemed: int
    points_issued: int
    points_spent: int | None
    diversion_alerts: int
    clone_alerts: int

    @property
    def redemption_rate(self) -> float | None:
        if not self.codes_activated:
            return None
        return round(self.codes_redeemed / self.codes_activated, 6)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.key,
            "codes_issued": self.codes_issued,
            "codes_activated": self.codes_activated,
            "codes_redeemed": self.codes_redeemed,
            "redemption_rate": self.redemption_rate,
            "points_issued": self.points_issued,
            "points_spent": self.points_spent,
            "diversion_alerts": self.diversion_alerts,
            "clone_alerts": self.clone_alerts,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """A report: the grouping, the batch filter, the rows and the totals (which also
    hold the bonus, refunded and expired points)."""

    by: str
    batch: int | None
    rows: tuple[ReportRow, ...]
    totals: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "batch": self.batch,
            "rows": [r.to_dict() for r in self.rows],
            "totals": self.totals,
        }


def _day_sql(conn: Connection, column: str, offset_minutes: int, tz_name: str) -> str:
    if conn.dialect.name == "postgresql":
        zone = tz_name.replace("'", "''")
        return f"to_char({column} AT TIME ZONE '{zone}', 'YYYY-MM-DD')"
    return f"strftime('%Y-%m-%d', {column}, '{offset_minutes:+d} minutes')"


def build_report(
    conn: Connection,
    *,
    by: str = "batch",
    batch: int | None = None,
    tz: dt.tzinfo = dt.timezone(dt.timedelta(hours=8)),
    tz_name: str = "Asia/Shanghai",
) -> Report:
    """The report grouped ``by`` batch, channel, region or day, for one ``batch`` or all."""
    if by not in GROUPINGS:
        raise InvalidInput(f"Group a report by one of {', '.join(GROUPINGS)}, not {by!r}.")
    batches = {
        r.id: r for r in conn.execute(
            text("SELECT id, sku, name, quantity, serial_start, serial_end FROM batches ORDER BY id")
        )
    }
    if batch is not None and batch not in batches:
        raise BatchNotFound(batch=batch)
    channels = {r.id: r for r in conn.execute(text("SELECT id, code, name, region FROM channels"))}
    # Codes per (batch, channel) under "the newest activation covering a serial wins":
    # the activation spans are that map, disjoint, so their lengths add up.
    act_sql = (
        "SELECT batch_id, channel_id, sum(serial_end - serial_start) AS n "
        "FROM activation_spans{where} GROUP BY batch_id, channel_id"
    )
    params: dict[str, Any] = {}
    where = ""
    if batch is not None:
        b = batches[batch]
        params = {"batch": batch, "start": b.serial_start, "end": b.serial_end}
        where = " WHERE serial >= :start AND serial < :end"
    activated = {
        (int(r.batch_id), int(r.channel_id)): int(r.n)
        for r in conn.execute(
            text(act_sql.format(where=" WHERE batch_id = :batch" if batch is not None else "")),
            params,
        )
    }
    offset = int((dt.datetime.now(tz).utcoffset() or dt.timedelta()).total_seconds() // 60)

    key_sql = {
        "batch": "batch_id",
        "channel": "channel_id",
        "region": "channel_id",
        "day": _day_sql(conn, "redeemed_at", offset, tz_name),
    }[by]
    red = conn.execute(
        text(
            f"SELECT {key_sql} AS k, count(*) AS n, coalesce(sum(points), 0) AS p, "
            f"sum(CASE WHEN diversion THEN 1 ELSE 0 END) AS d FROM redemptions{where} "
            f"GROUP BY {key_sql}"
        ),
        params,
    ).all()
    clone_key = {
        "batch": "c.batch_id",
        "channel": "r.channel_id",
        "region": "r.channel_id",
        "day": _day_sql(conn, "c.created_at", offset, tz_name),
    }[by]
    clone_where = " WHERE c.batch_id = :batch" if batch is not None else ""
    clones = conn.execute(
        text(
            f"SELECT {clone_key} AS k, count(*) AS n FROM clone_alerts c "
            f"LEFT JOIN redemptions r ON r.serial = c.serial{clone_where} GROUP BY {clone_key}"
        ),
        params,
    ).all()
    loyalty = conn.execute(
        text(
            f"SELECT {_day_sql(conn, 'created_at', offset, tz_name)} AS k, kind, "
            "coalesce(sum(delta), 0) AS p FROM ledger_refs GROUP BY 1, kind"
        )
    ).all()

    acc: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def group_of(raw: Any) -> Any:
        if by == "region":
            ch = channels.get(raw)
            return ch.region if ch is not None else None
        return raw

    for r in red:
        g = acc[group_of(r.k)]
        g["codes_redeemed"] += int(r.n)
        g["points_issued"] += int(r.p)
        g["diversion_alerts"] += int(r.d or 0)
    for r in clones:
        acc[group_of(r.k)]["clone_alerts"] += int(r.n)
    if by in ("batch", "channel", "region"):
        for (b_id, ch_id), n in activated.items():
            key = {"batch": b_id, "channel": ch_id, "region": group_of(ch_id)}[by]
            acc[key]["codes_activated"] += n
    if by == "batch":
        for b_id in batches if batch is None else [batch]:
            acc[b_id]["codes_issued"] += int(batches[b_id].quantity)
    spent_by_day: dict[Any, int] = defaultdict(int)
    for r in loyalty:
        if r.kind in ("gift", "gift_refund"):
            spent_by_day[r.k] -= int(r.p)
    if by == "day" and batch is None:
        for day, spent in spent_by_day.items():
            acc[day]["points_spent"] += spent

    rows = []
    for k, g in acc.items():
        rows.append(
            ReportRow(
                key=_key(by, k, batches, channels),
                codes_issued=g.get("codes_issued", 0) if by == "batch" else None,
                codes_activated=g.get("codes_activated", 0) if by != "day" else None,
                codes_redeemed=g.get("codes_redeemed", 0),
                points_issued=g.get("points_issued", 0),
                points_spent=g.get("points_spent", 0) if by == "day" and batch is None else None,
                diversion_alerts=g.get("diversion_alerts", 0),
                clone_alerts=g.get("clone_alerts", 0),
            )
        )
    first = "batch" if by == "batch" else by
    rows.sort(key=lambda r: (r.key[first] is None, r.key[first] or ""))
    by_kind: dict[str, int] = defaultdict(int)
    for r in loyalty:
        by_kind[r.kind] += int(r.p)
    issued = sum(int(batches[b].quantity) for b in (batches if batch is None else [batch]))
    total_activated = sum(activated.values())
    total_redeemed = sum(r.codes_redeemed for r in rows)
    totals: dict[str, Any] = {
        "codes_issued": issued,
        "codes_activated": total_activated,
        "codes_redeemed": total_redeemed,
        "redemption_rate": round(total_redeemed / total_activated, 6) if total_activated else None,
        "points_issued": sum(r.points_issued for r in rows),
        "diversion_alerts": sum(r.diversion_alerts for r in rows),
        "clone_alerts": sum(r.clone_alerts for r in rows),
    }
    if batch is None:
        totals.update(
            points_spent=-(by_kind["gift"] + by_kind["gift_refund"]),
            points_refunded=by_kind["gift_refund"],
            points_bonus=by_kind["profile_bonus"] + by_kind["bonus_reversed"],
            points_expired=-by_kind["expire"],
        )
    return Report(by=by, batch=batch, rows=tuple(rows), totals=totals)


def _key(by: str, k: Any, batches: dict[int, Any], channels: dict[int, Any]) -> dict[str, Any]:
    if by == "batch":
        b = batches.get(k)
        return {"batch": k, "sku": b.sku if b else None, "name": b.name if b else None}
    if by == "channel":
        ch = channels.get(k)
        return {"channel": ch.code if ch else None, "channel_name": ch.name if ch else None,
                "region": ch.region if ch else None}
    if by == "region":
        return {"region": k}
    return {"day": k}
