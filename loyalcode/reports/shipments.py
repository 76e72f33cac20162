"""The report by shipment: what each closed shipment (or return) sent where, and what
became of it.

Per shipment: ``codes_shipped`` (the units its close covered), ``codes_activated``
(those whose channel it still decides: no later shipment, return or activation moved
them on), and of those ``codes_redeemed``, ``points_issued`` and ``diversion_alerts``
(each redemption is found through the span covering its serial, one index probe, as a
scan finds it). ``redemption_rate`` is redeemed over activated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from loyalcode.channels.sql import code_joins
from loyalcode.store.timeutil import UtcDateTime, from_db


@dataclass(frozen=True, slots=True)
class ShipmentRow:
    """One closed shipment's figures."""

    shipment: int
    kind: str
    channel: str | None
    closed_at: dt.datetime
    codes_shipped: int
    codes_activated: int
    codes_redeemed: int
    points_issued: int
    diversion_alerts: int

    @property
    def redemption_rate(self) -> float | None:
        return round(self.codes_redeemed / self.codes_activated, 6) if self.codes_activated else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "shipment": self.shipment, "kind": self.kind, "channel": self.channel,
            "closed_at": self.closed_at.isoformat(), "codes_shipped": self.codes_shipped,
            "codes_activated": self.codes_activated, "codes_redeemed": self.codes_redeemed,
            "redemption_rate": self.redemption_rate, "points_issued": self.points_issued,
            "diversion_alerts": self.diversion_alerts,
        }


_SHIPMENTS = (
    "SELECT s.id, s.kind, c.code, s.closed_at, coalesce(s.units, 0) AS units FROM shipments s "
    "LEFT JOIN channels c ON c.id = s.channel_id WHERE s.status = 'closed'{where} ORDER BY s.id"
)
_ACTIVATED = (
    "SELECT sr.shipment_id AS k, sum(a.serial_end - a.serial_start) AS n FROM activation_spans a "
    "JOIN shipment_ranges sr ON sr.activation_id = a.activation_id{where} GROUP BY sr.shipment_id"
)
_REDEEMED = (
    "SELECT sr.shipment_id AS k, count(*) AS n, coalesce(sum(r.points), 0) AS p, "
    "sum(CASE WHEN r.diversion THEN 1 ELSE 0 END) AS d FROM redemptions r "
    f"{code_joins('r.serial')} "
    "JOIN shipment_ranges sr ON sr.activation_id = a.activation_id{where} GROUP BY sr.shipment_id"
)


def shipment_report(conn: Connection, *, batch: int | None = None) -> list[ShipmentRow]:
    """One row per closed shipment (those covering ``batch`` only, if given)."""
    params: dict[str, Any] = {}
    where = ""
    if batch is not None:
        where = " AND sr.batch_id = :batch"
        params["batch"] = batch
    act = {int(r.k): int(r.n) for r in conn.execute(
        text(_ACTIVATED.format(where=where.replace(" AND", " WHERE", 1))), params)}
    red = {int(r.k): r for r in conn.execute(
        text(_REDEEMED.format(where=where.replace(" AND", " WHERE", 1))), params)}
    ship_where = (" AND s.id IN (SELECT shipment_id FROM shipment_ranges WHERE batch_id = :batch)"
                  if batch is not None else "")
    rows = []
    for r in conn.execute(text(_SHIPMENTS.format(where=ship_where))
                          .columns(closed_at=UtcDateTime()), params):
        got = red.get(int(r.id))
        rows.append(ShipmentRow(
            shipment=int(r.id), kind=r.kind, channel=r.code,
            closed_at=from_db(r.closed_at),  # type: ignore[arg-type]
            codes_shipped=int(r.units), codes_activated=act.get(int(r.id), 0),
            codes_redeemed=int(got.n) if got else 0, points_issued=int(got.p) if got else 0,
            diversion_alerts=int(got.d or 0) if got else 0,
        ))
    return rows
