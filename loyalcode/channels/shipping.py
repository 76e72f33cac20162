"""Shipping (出库扫码) and returns (退货), scan by scan, as a handheld works.

A shipment is opened to a channel; scans are added one at a time (the SSCC of a case
or pallet, or the visible serial of a single unit; a repeated scan changes nothing,
which the unique indexes of ``shipment_scans`` decide, not a check-then-write); closing
it activates every unit inside for the channel, in one transaction, through the
activation library (:func:`~loyalcode.channels.activation.activate_many`), so the
activation spans stay the one place a scan reads its channel from, and a later
shipment moves units on (the newest activation wins). What the close covered is kept
(``shipment_ranges``: serial ranges, each with its activation).

A return is a shipment of kind ``return``: to a named warehouse channel (the units
move there), or to none (the units are deactivated: a scan of one gets
``not_activated``).

Each call returns a frozen dataclass, so the HTTP API can wrap them as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loyalcode.channels.activation import RangeLine, activate_many
from loyalcode.channels.aggregation import unit_serial
from loyalcode.channels.cases import get_unit
from loyalcode.channels.deactivation import deactivate_ranges
from loyalcode.channels.errors import ShipmentClosed, ShipmentEmpty, ShipmentNotFound
from loyalcode.channels.models import (
    CaseContent,
    Channel,
    LogisticUnit,
    Shipment,
    ShipmentRange,
    ShipmentScan,
)
from loyalcode.channels.scans import read_scan
from loyalcode.channels.tree import get_channel
from loyalcode.codegen.batches import batch_for_serial
from loyalcode.codegen.models import Batch
from loyalcode.codegen.visible import VisibleSerials
from loyalcode.errors import InvalidInput
from loyalcode.store.timeutil import from_db, utc

MAX_ACTOR = 64


@dataclass(frozen=True, slots=True)
class ShipmentInfo:
    """A shipment: ``kind`` ``ship`` or ``return``, ``status`` ``open`` or ``closed``,
    its ``channel`` (``None``: a return that deactivates), who opened and closed it
    and when, how many distinct ``scans`` it has, and the ``units`` its close covered."""

    id: int
    kind: str
    status: str
    channel: str | None
    opened_at: dt.datetime
    opened_by: str | None
    closed_at: dt.datetime | None
    closed_by: str | None
    scans: int
    units: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "status": self.status, "channel": self.channel,
            "opened_at": self.opened_at.isoformat(), "opened_by": self.opened_by,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "closed_by": self.closed_by, "scans": self.scans, "units": self.units,
        }


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One scan added to a shipment: what it named (``kind`` ``case``, ``pallet`` or
    ``unit``; ``code`` the SSCC, or the unit as given), how many units it holds now,
    and whether it was new (``added``; ``False`` for a repeat, which changed nothing)."""

    shipment: int
    kind: str
    code: str
    units: int
    added: bool

    def to_dict(self) -> dict[str, Any]:
        return {"shipment": self.shipment, "kind": self.kind, "code": self.code,
                "units": self.units, "added": self.added}


def _actor(actor: str | None) -> str | None:
    if actor is None:
        return None
    value = actor.strip()
    if not value or len(value) > MAX_ACTOR or not value.isprintable():
        raise InvalidInput(f"Who ships is named by 1 to {MAX_ACTOR} printable characters.")
    return value


def _info(row: Shipment, channel: str | None, scans: int) -> ShipmentInfo:
    return ShipmentInfo(
        id=row.id, kind=row.kind, status=row.status, channel=channel,
        opened_at=from_db(row.opened_at), opened_by=row.opened_by,  # type: ignore[arg-type]
        closed_at=from_db(row.closed_at), closed_by=row.closed_by, scans=scans,
        units=int(row.units) if row.units is not None else None,
    )


def _open(session: Session, channel: str | None, kind: str, actor: str | None,
          now: dt.datetime | None) -> tuple[Shipment, str | None]:
    if kind not in ("ship", "return"):
        raise InvalidInput(f"A shipment is a ship or a return, not {kind!r}.")
    if channel is None and kind == "ship":
        raise InvalidInput("A shipment goes to a channel: name one with --channel.")
    channel_row = get_channel(session, channel) if channel is not None else None
    row = Shipment(kind=kind, status="open", channel_id=channel_row.id if channel_row else None,
                   opened_at=utc(now), opened_by=_actor(actor))
    session.add(row)
    session.flush()
    return row, channel_row.code if channel_row else None


def open_shipment(session: Session, channel: str | None, *, kind: str = "ship",
                  actor: str | None = None, now: dt.datetime | None = None) -> ShipmentInfo:
    """Open a shipment to ``channel`` (a return may name none: it deactivates)."""
    row, code = _open(session, channel, kind, actor, now)
    return _info(row, code, 0)


def _locked(session: Session, shipment_id: int | str) -> Shipment:
    """The open shipment, locked (a close and a scan of it take turns)."""
    text_ = str(shipment_id).strip()
    if not text_.isascii() or not text_.isdecimal() or len(text_) > 18:
        raise ShipmentNotFound(shipment=str(shipment_id))
    row = session.scalar(select(Shipment).where(Shipment.id == int(text_))
                         .with_for_update().execution_options(populate_existing=True))
    if row is None:
        raise ShipmentNotFound(shipment=text_)
    if row.status != "open":
        raise ShipmentClosed(shipment=row.id)
    return row


def shipment_info(session: Session, shipment_id: int | str) -> ShipmentInfo:
    """One shipment as it stands."""
    text_ = str(shipment_id).strip()
    if not text_.isascii() or not text_.isdecimal() or len(text_) > 18:
        raise ShipmentNotFound(shipment=str(shipment_id))
    row = session.get(Shipment, int(text_))
    if row is None:
        raise ShipmentNotFound(shipment=text_)
    channel = session.get_one(Channel, row.channel_id).code if row.channel_id is not None else None
    scans = session.scalar(select(func.count()).select_from(ShipmentScan)
                           .where(ShipmentScan.shipment_id == row.id)) or 0
    return _info(row, channel, int(scans))


def _units_in(session: Session, unit: LogisticUnit) -> int:
    c = CaseContent.__table__.c
    u = LogisticUnit.__table__.c
    cases = [unit.id] if unit.kind == "case" else select(u.id).where(u.pallet_id == unit.id)
    return int(session.scalar(select(func.coalesce(func.sum(c.serial_end - c.serial_start), 0))
                              .where(c.case_id.in_(cases))) or 0)


def _add(session: Session, shipment: Shipment, code: str, serials: VisibleSerials,
         now: dt.datetime | None) -> tuple[str, str, bool, LogisticUnit | None]:
    """Record one scan: (kind, code as shown, whether new, the case or pallet)."""
    values: dict[str, Any] = {"shipment_id": shipment.id, "scanned_at": utc(now)}
    unit = None
    scan = read_scan(code)
    if scan.kind == "sscc":
        unit = get_unit(session, scan.value)
        values["unit_id"] = unit.id
        target, kind, shown = ["shipment_id", "unit_id"], unit.kind, unit.sscc
    else:
        _, serial = unit_serial(session, scan.value, serials)
        values["serial"] = serial
        target, kind, shown = ["shipment_id", "serial"], "unit", scan.value
    make = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # The unique index is the guard against a repeated scan, not a check-then-write.
    added = session.execute(make(ShipmentScan).values(**values)
                            .on_conflict_do_nothing(index_elements=target)
                            .returning(ShipmentScan.id)).first() is not None
    return kind, shown, added, unit


def add_scan(session: Session, shipment_id: int | str, code: str, serials: VisibleSerials, *,
             now: dt.datetime | None = None) -> ScanResult:
    """Add one scan to an open shipment: an SSCC (a case or pallet) or a unit (its
    visible serial, or ``BATCH:SEQ``). A repeat changes nothing (``added`` False)."""
    shipment = _locked(session, shipment_id)
    kind, shown, added, unit = _add(session, shipment, code, serials, now)
    units = _units_in(session, unit) if unit is not None else 1
    return ScanResult(shipment=shipment.id, kind=kind, code=shown, units=units, added=added)


def _ranges(session: Session, shipment_id: int) -> tuple[dict[int, list[tuple[int, int]]], int]:
    """The serial ranges a shipment's scans hold, per batch, merged and sorted; and
    how many scans it has."""
    sc = ShipmentScan.__table__.c
    u = LogisticUnit.__table__.c
    c = CaseContent.__table__.c
    scans = session.execute(select(sc.unit_id, sc.serial).where(sc.shipment_id == shipment_id)).all()
    units = [int(r.unit_id) for r in scans if r.unit_id is not None]
    found: dict[int, list[tuple[int, int]]] = {}
    if units:
        cases = select(u.id).where(u.id.in_(units) | u.pallet_id.in_(units))
        for r in session.execute(select(c.batch_id, c.serial_start, c.serial_end)
                                 .where(c.case_id.in_(cases))):
            found.setdefault(int(r.batch_id), []).append((int(r.serial_start), int(r.serial_end)))
    for r in scans:
        if r.serial is None:
            continue
        batch = batch_for_serial(session, int(r.serial))
        if batch is not None:
            found.setdefault(batch.id, []).append((int(r.serial), int(r.serial) + 1))
    merged: dict[int, list[tuple[int, int]]] = {}
    for batch_id, ranges in found.items():
        out: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(end, out[-1][1]))
            else:
                out.append((start, end))
        merged[batch_id] = out
    return merged, len(scans)


def _close(session: Session, shipment: Shipment, channel: str | None, actor: str | None,
           now: dt.datetime | None) -> ShipmentInfo:
    moment = utc(now)
    by_batch, scans = _ranges(session, shipment.id)
    if not by_batch:
        raise ShipmentEmpty(shipment=shipment.id, verb="ship" if shipment.kind == "ship" else "return")
    records: list[dict[str, Any]] = []
    total = 0
    for batch_id in sorted(by_batch):
        base = session.get_one(Batch, batch_id).serial_start
        seqs = [(start - base + 1, end - base) for start, end in by_batch[batch_id]]
        total += sum(end - start for start, end in by_batch[batch_id])
        if channel is None:
            deactivate_ranges(session, batch_id, seqs, moment)
            records += [{"batch_id": batch_id, "serial_start": s, "serial_end": e,
                         "activation_id": None} for s, e in by_batch[batch_id]]
            continue
        lines = [RangeLine(line=i, seq_from=a, seq_to=b, channel=channel)
                 for i, (a, b) in enumerate(seqs, start=1)]
        for info in activate_many(session, batch_id, lines, now=moment):
            records.append({"batch_id": batch_id, "serial_start": info.serial_start,
                            "serial_end": info.serial_end, "activation_id": info.id})
    session.execute(insert(ShipmentRange), [{"shipment_id": shipment.id, **r} for r in records])
    shipment.status = "closed"
    shipment.closed_at = moment
    shipment.closed_by = _actor(actor)
    shipment.units = total
    session.flush()
    return _info(shipment, channel, scans)


def close_shipment(session: Session, shipment_id: int | str, *, actor: str | None = None,
                   now: dt.datetime | None = None) -> ShipmentInfo:
    """Close an open shipment: every unit inside its scans is activated for its
    channel (or, a return to no channel, deactivated), in the caller's transaction,
    and the ranges are recorded with their activations. An empty shipment is refused
    (``shipment_empty``), as is a unit of a void batch (``batch_void``)."""
    shipment = _locked(session, shipment_id)
    channel = session.get_one(Channel, shipment.channel_id).code if shipment.channel_id else None
    return _close(session, shipment, channel, actor, now)


def _all_at_once(session: Session, channel: str | None, kind: str, codes: Iterable[str],
                 serials: VisibleSerials, actor: str | None,
                 now: dt.datetime | None) -> ShipmentInfo:
    row, code = _open(session, channel, kind, actor, now)
    for scanned in codes:
        _add(session, row, scanned, serials, now)
    return _close(session, row, code, actor, now)


def ship(session: Session, channel: str, codes: Iterable[str], serials: VisibleSerials, *,
         actor: str | None = None, now: dt.datetime | None = None) -> ShipmentInfo:
    """Open a shipment to ``channel``, add every scan, close it: in one transaction."""
    return _all_at_once(session, channel, "ship", codes, serials, actor, now)


def return_units(session: Session, codes: Iterable[str], serials: VisibleSerials, *,
                 to_channel: str | None = None, actor: str | None = None,
                 now: dt.datetime | None = None) -> ShipmentInfo:
    """A return (退货) of cases, pallets or units: they move to the warehouse channel
    ``to_channel``, or, with none, are deactivated (a scan gets ``not_activated``)."""
    return _all_at_once(session, to_channel, "return", codes, serials, actor, now)


@dataclass(frozen=True, slots=True)
class ShipmentRef:
    """A closed shipment that covered a unit."""

    id: int
    kind: str
    channel: str | None
    closed_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "channel": self.channel,
                "closed_at": self.closed_at.isoformat()}


def shipments_of(conn: Connection | Session, batch_id: int, serial: int) -> list[ShipmentRef]:
    """Every closed shipment (or return) that covered ``serial`` of batch ``batch_id``,
    oldest first."""
    r = ShipmentRange.__table__.c
    s = Shipment.__table__.c
    ch = Channel.__table__.c
    rows = conn.execute(
        select(s.id, s.kind, ch.code, s.closed_at).select_from(ShipmentRange)
        .join(Shipment, s.id == r.shipment_id).outerjoin(Channel, ch.id == s.channel_id)
        .where(r.batch_id == batch_id, r.serial_start <= serial, r.serial_end > serial)
        .order_by(r.id)
    ).all()
    return [ShipmentRef(id=int(i), kind=k, channel=c, closed_at=from_db(t))  # type: ignore[arg-type]
            for i, k, c, t in rows]
