"""Cases and pallets (logistic units): SSCCs allocated in bulk, packing by sequence,
and what a case or pallet holds.

SSCCs are allocated before packing (``loyalcode case create --count N``) so their
labels can be printed first; the serial reference comes from a counter row per company
prefix and extension digit, moved by one ``UPDATE ... RETURNING`` as batch serials are,
so concurrent allocations never share a reference. The company prefix is
``company_prefix`` under ``[gs1]`` in ``loyalcode.toml`` (``extension``, default 0,
beside it).

A line that packs in sequence order needs no upload: :func:`pack_by_sequence` puts
consecutive sequences in consecutive new cases (and those on new pallets), one
content row per case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loyalcode.channels import sscc as gs1
from loyalcode.channels.bulk import write_rows
from loyalcode.channels.errors import (
    AlreadyPacked,
    Gs1NotConfigured,
    LogisticUnitNotFound,
    SsccSpaceExhausted,
    WrongUnitKind,
)
from loyalcode.channels.models import (
    CaseContent,
    CaseMove,
    Channel,
    LogisticUnit,
    Packing,
    Shipment,
    ShipmentScan,
    SsccCounter,
)
from loyalcode.channels.scans import read_scan
from loyalcode.codegen.batches import get_batch, require_not_void
from loyalcode.codegen.models import Batch
from loyalcode.errors import ConfigError, InvalidInput
from loyalcode.store.config import Config
from loyalcode.store.timeutil import from_db, sqlite_stamp, utc

MAX_UNITS = 10_000_000  # SSCCs one command allocates
MAX_PER_CASE = 100_000


@dataclass(frozen=True, slots=True)
class Gs1Settings:
    """``[gs1]`` of ``loyalcode.toml``: the company prefix and the extension digit."""

    company_prefix: str
    extension: int = 0

    @classmethod
    def from_config(cls, config: Config) -> Gs1Settings:
        """The settings, or :class:`Gs1NotConfigured` when there is no prefix."""
        section = config.section("gs1")
        prefix = section.get("company_prefix")
        if prefix is None:
            raise Gs1NotConfigured(path=str(config.path))
        extension = section.get("extension", 0)
        if not isinstance(prefix, str) or isinstance(extension, bool) or not isinstance(extension, int):
            raise ConfigError(detail="gs1.company_prefix is a string of digits, "
                                     "gs1.extension a whole number from 0 to 9")
        gs1.check_prefix(prefix, extension)
        return cls(company_prefix=prefix, extension=extension)


def db_time(session: Session, now: dt.datetime) -> Any:
    """``now`` as a bulk write passes it: aware on PostgreSQL, SQLAlchemy's text on SQLite."""
    return now if session.get_bind().dialect.name == "postgresql" else sqlite_stamp(now)


def allocate_references(session: Session, settings: Gs1Settings, count: int) -> int:
    """Reserve ``count`` serial references; the first. The counter row is created on
    first use (a concurrent creator's row wins, nothing fails), then moved by one
    conditional ``UPDATE ... RETURNING``: never ``SELECT max()`` then insert."""
    limit = 10 ** gs1.reference_digits(settings.company_prefix)
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        make(SsccCounter)
        .values(company_prefix=settings.company_prefix, extension=settings.extension, next_ref=0)
        .on_conflict_do_nothing()
    )
    counter = SsccCounter.__table__.c
    new_next = session.execute(
        update(SsccCounter)
        .where(counter.company_prefix == settings.company_prefix,
               counter.extension == settings.extension, counter.next_ref + count <= limit)
        .values(next_ref=counter.next_ref + count)
        .returning(counter.next_ref)
    ).scalar_one_or_none()
    if new_next is None:
        current = session.scalar(select(counter.next_ref).where(
            counter.company_prefix == settings.company_prefix,
            counter.extension == settings.extension))
        raise SsccSpaceExhausted(count=count, company_prefix=settings.company_prefix,
                                 extension=settings.extension, remaining=limit - int(current or 0))
    return int(new_next) - count


def _new_units(session: Session, settings: Gs1Settings, kind: str, count: int, now: dt.datetime,
               pallet_of: Sequence[int | None] | None = None) -> list[tuple[int, str]]:
    """Insert ``count`` new units of ``kind``; their ``(id, sscc)`` in SSCC order.
    ``pallet_of[i]`` is the pallet of the i-th (cases only)."""
    if count == 0:
        return []
    first = allocate_references(session, settings, count)
    codes = [gs1.build(extension=settings.extension, company_prefix=settings.company_prefix,
                       reference=first + i) for i in range(count)]
    stamp = db_time(session, now)
    write_rows(session, "logistic_units", ("sscc", "kind", "pallet_id", "created_at"),
               ((code, kind, pallet_of[i] if pallet_of else None, stamp)
                for i, code in enumerate(codes)))
    # The references are consecutive under one prefix and extension: the SSCCs sort in
    # their order, and no other unit lies between the first and the last.
    units = LogisticUnit.__table__.c
    rows = session.execute(
        select(units.id, units.sscc).where(units.sscc >= codes[0], units.sscc <= codes[-1])
        .order_by(units.sscc)
    ).all()
    return [(int(i), str(s)) for i, s in rows]


def _check_count(value: int, name: str, maximum: int, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(f"{name} is a whole number from {minimum} to {maximum:,}, got {value!r}.")
    return value


@dataclass(frozen=True, slots=True)
class CreatedUnits:
    """SSCCs allocated by one call, in order: ``cases`` then ``pallets``."""

    cases: tuple[str, ...]
    pallets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"cases": list(self.cases), "pallets": list(self.pallets)}


def create_units(session: Session, settings: Gs1Settings, *, cases: int, pallets: int = 0,
                 now: dt.datetime | None = None) -> CreatedUnits:
    """Allocate ``cases`` empty cases and ``pallets`` empty pallets, each with a new
    SSCC, so their labels can be printed before packing. The caller owns the
    transaction."""
    _check_count(cases, "--count", MAX_UNITS)
    _check_count(pallets, "--pallets", MAX_UNITS)
    if cases + pallets == 0:
        raise InvalidInput("Nothing to create: give --count or --pallets above 0.")
    moment = utc(now)
    made = _new_units(session, settings, "case", cases, moment)
    stands = _new_units(session, settings, "pallet", pallets, moment)
    return CreatedUnits(cases=tuple(s for _, s in made), pallets=tuple(s for _, s in stands))


def new_packing(session: Session, kind: str, units: int, actor: str | None, now: dt.datetime) -> int:
    """The id of a new :class:`Packing` row."""
    row = Packing(kind=kind, units=units, actor=actor, created_at=now)
    session.add(row)
    session.flush()
    return row.id


@dataclass(frozen=True, slots=True)
class PackResult:
    """A batch packed by sequence: ``per_case`` units a case (the last may hold fewer),
    the cases' and pallets' SSCCs in sequence order."""

    batch: int
    per_case: int
    cases: tuple[str, ...]
    pallets: tuple[str, ...]
    packing: int

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "per_case": self.per_case, "cases": list(self.cases),
                "pallets": list(self.pallets), "packing": self.packing}


def pack_by_sequence(session: Session, settings: Gs1Settings, batch_id: int | str, *,
                     per_case: int, cases_per_pallet: int | None = None,
                     actor: str | None = None, now: dt.datetime | None = None) -> PackResult:
    """Put consecutive sequences of a batch in consecutive new cases, ``per_case`` a
    case (and those, ``cases_per_pallet`` a pallet, on new pallets): no upload.

    Refused for a void batch and for a batch that already has units in cases (pack
    what the line did not pack in order by upload, or repack with ``case move``).
    """
    _check_count(per_case, "--per-case", MAX_PER_CASE, 1)
    if cases_per_pallet is not None:
        _check_count(cases_per_pallet, "--cases-per-pallet", MAX_PER_CASE, 1)
    batch = get_batch(session, batch_id)
    session.refresh(batch, with_for_update=True)  # one packing of a batch at a time
    require_not_void(batch)
    contents = CaseContent.__table__.c
    packed = session.scalar(
        select(func.coalesce(func.sum(contents.serial_end - contents.serial_start), 0))
        .where(contents.batch_id == batch.id)
    )
    if packed:
        raise AlreadyPacked(batch=batch.id, units=int(packed))
    moment = utc(now)
    n_cases = -(-batch.quantity // per_case)
    pallets: list[tuple[int, str]] = []
    pallet_of: list[int | None] | None = None
    if cases_per_pallet is not None:
        pallets = _new_units(session, settings, "pallet", -(-n_cases // cases_per_pallet), moment)
        pallet_of = [pallets[i // cases_per_pallet][0] for i in range(n_cases)]
    made = _new_units(session, settings, "case", n_cases, moment, pallet_of)
    packing = new_packing(session, "pack", batch.quantity, actor, moment)
    start, end = batch.serial_start, batch.serial_end
    write_rows(session, "case_contents",
               ("serial_start", "serial_end", "batch_id", "case_id", "packing_id"),
               ((start + i * per_case, min(start + (i + 1) * per_case, end), batch.id, case_id,
                 packing) for i, (case_id, _) in enumerate(made)))
    return PackResult(batch=batch.id, per_case=per_case, cases=tuple(s for _, s in made),
                      pallets=tuple(s for _, s in pallets), packing=packing)


def get_unit(session: Session, code: str, kind: str | None = None) -> LogisticUnit:
    """The case or pallet with SSCC ``code`` (as scanned or typed), of ``kind`` if
    given: :class:`InvalidSscc`, :class:`LogisticUnitNotFound`, :class:`WrongUnitKind`."""
    scan = read_scan(code)
    number = scan.value if scan.kind == "sscc" else gs1.validate(code)
    row = session.scalar(select(LogisticUnit).where(LogisticUnit.sscc == number))
    if row is None:
        raise LogisticUnitNotFound(sscc=number)
    if kind is not None and row.kind != kind:
        raise WrongUnitKind(sscc=number, kind=row.kind, expected=kind)
    return row


# --- what a case or pallet holds ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContentRange:
    """Sequences ``seq_from..seq_to`` (inclusive) of a batch, in a case."""

    batch: int
    seq_from: int
    seq_to: int
    case: str

    @property
    def count(self) -> int:
        return self.seq_to - self.seq_from + 1

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "from": self.seq_from, "to": self.seq_to,
                "count": self.count, "case": self.case}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One thing that happened to a case or pallet: ``what`` is ``created``,
    ``packed`` (by sequence or upload), ``moved_in``, ``moved_out``, ``shipped`` or
    ``returned``, with the facts of it."""

    at: dt.datetime
    what: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "what": self.what, **self.detail}


@dataclass(frozen=True, slots=True)
class UnitReport:
    """A case or pallet: its contents (counts and ranges), where it stands, and its
    history, oldest first."""

    sscc: str
    kind: str
    pallet: str | None
    cases: tuple[str, ...]
    contents: tuple[ContentRange, ...]
    history: tuple[HistoryEntry, ...]

    @property
    def units(self) -> int:
        return sum(r.count for r in self.contents)

    def batches(self) -> dict[int, int]:
        """Units per batch."""
        out: dict[int, int] = {}
        for r in self.contents:
            out[r.batch] = out.get(r.batch, 0) + r.count
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "sscc": self.sscc, "kind": self.kind, "pallet": self.pallet,
            "cases": list(self.cases), "units": self.units,
            "batches": {str(b): n for b, n in self.batches().items()},
            "ranges": [r.to_dict() for r in self.contents],
            "history": [h.to_dict() for h in self.history],
        }


def _contents(session: Session, case_ids: Sequence[int]) -> list[ContentRange]:
    if not case_ids:
        return []
    c = CaseContent.__table__.c
    u = LogisticUnit.__table__.c
    b = Batch.__table__.c
    rows = session.execute(
        select(c.batch_id, c.serial_start, c.serial_end, b.serial_start.label("base"), u.sscc)
        .join(Batch, b.id == c.batch_id).join(LogisticUnit, u.id == c.case_id)
        .where(c.case_id.in_(case_ids)).order_by(c.serial_start)
    ).all()
    return [ContentRange(batch=int(r.batch_id), seq_from=int(r.serial_start - r.base + 1),
                         seq_to=int(r.serial_end - r.base), case=str(r.sscc)) for r in rows]


def describe(session: Session, code: str) -> UnitReport:
    """What the case or pallet with SSCC ``code`` holds now and what happened to it."""
    unit = get_unit(session, code)
    u = LogisticUnit.__table__.c
    pallet = (session.scalar(select(u.sscc).where(u.id == unit.pallet_id))
              if unit.pallet_id is not None else None)
    cases: list[tuple[int, str]] = []
    if unit.kind == "pallet":
        cases = [(int(i), str(s)) for i, s in session.execute(
            select(u.id, u.sscc).where(u.pallet_id == unit.id).order_by(u.sscc))]
    case_ids = [unit.id] if unit.kind == "case" else [i for i, _ in cases]
    history = [HistoryEntry(at=from_db(unit.created_at), what="created", detail={})]  # type: ignore[arg-type]
    if case_ids:
        c = CaseContent.__table__.c
        p = Packing.__table__.c
        for r in session.execute(
            select(p.id, p.kind, p.created_at, p.actor, func.count().label("ranges"))
            .join(CaseContent, c.packing_id == p.id)
            .where(c.case_id.in_(case_ids), p.kind != "move")
            .group_by(p.id, p.kind, p.created_at, p.actor)
        ):
            history.append(HistoryEntry(at=from_db(r.created_at), what="packed",  # type: ignore[arg-type]
                                        detail={"packing": r.id, "by": r.kind, "actor": r.actor}))
        m = CaseMove.__table__.c
        for r in session.execute(
            select(m.from_case_id, m.to_case_id, m.batch_id, m.serial_start, m.serial_end,
                   p.created_at, p.actor, p.id)
            .join(Packing, p.id == m.packing_id)
            .where(m.from_case_id.in_(case_ids) | m.to_case_id.in_(case_ids))
        ):
            what = "moved_in" if r.to_case_id in case_ids else "moved_out"
            history.append(HistoryEntry(at=from_db(r.created_at), what=what, detail={  # type: ignore[arg-type]
                "packing": r.id, "batch": int(r.batch_id),
                "units": int(r.serial_end - r.serial_start), "actor": r.actor}))
    sh = Shipment.__table__.c
    sc = ShipmentScan.__table__.c
    scanned = [unit.id] + ([unit.pallet_id] if unit.pallet_id is not None else [])
    for r in session.execute(
        select(sh.id, sh.kind, sh.closed_at, sh.closed_by, sh.channel_id, sc.unit_id)
        .join(ShipmentScan, sc.shipment_id == sh.id)
        .where(sc.unit_id.in_(scanned), sh.status == "closed")
    ):
        channel = session.get(Channel, r.channel_id) if r.channel_id is not None else None
        history.append(HistoryEntry(
            at=from_db(r.closed_at), what="shipped" if r.kind == "ship" else "returned",  # type: ignore[arg-type]
            detail={"shipment": int(r.id), "channel": channel.code if channel else None,
                    "actor": r.closed_by, "via_pallet": r.unit_id != unit.id}))
    history.sort(key=lambda h: h.at)
    return UnitReport(sscc=unit.sscc, kind=unit.kind, pallet=pallet,
                      cases=tuple(s for _, s in cases), contents=tuple(_contents(session, case_ids)),
                      history=tuple(history))


@dataclass(frozen=True, slots=True)
class LabelFacts:
    """What an SSCC label prints (GS1 logistic label): per batch inside, the product
    (SKU, name, GTIN) and how many units; the total; the cases on a pallet."""

    sscc: str
    kind: str
    quantity: int
    cases: int
    products: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sscc": self.sscc, "kind": self.kind, "quantity": self.quantity,
                "cases": self.cases, "products": [dict(p) for p in self.products]}


def label_facts(session: Session, code: str) -> LabelFacts:
    """The facts a label of the case or pallet ``code`` shows (for SSCC labels):
    products by batch (``batch``, ``sku``, ``name``, ``gtin``, ``quantity``), the total
    quantity, and the number of cases (1 for a case)."""
    report = describe(session, code)
    products = []
    for batch_id, quantity in sorted(report.batches().items()):
        b = session.get_one(Batch, batch_id)
        products.append({"batch": batch_id, "sku": b.sku, "name": b.name, "gtin": b.gtin,
                         "quantity": quantity})
    return LabelFacts(sscc=report.sscc, kind=report.kind, quantity=report.units,
                      cases=len(report.cases) if report.kind == "pallet" else 1,
                      products=tuple(products))
