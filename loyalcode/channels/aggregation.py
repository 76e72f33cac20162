"""Aggregation (母子码关联): which unit went into which case, and which case onto which
pallet, as the line's camera recorded it; repacking.

An upload has one pair a line: ``CASE,UNIT`` (UNIT a sequence number ``BATCH:SEQ`` or a
visible serial) or ``PALLET,CASE`` (both SSCCs). It is read whole and checked whole
before anything is written: an unknown unit or case, a unit in two cases (in the file,
or already in another case), a case on two pallets, a unit of a void batch, each refused
with its line number, and nothing written. A pair already recorded is no change, so an
upload can be sent again.

Stored compactly (:class:`~loyalcode.channels.models.CaseContent`): a run of
consecutive serials in one case is one row, so a batch packed mostly in order costs
rows in proportion to its cases and exceptions. The rows go in with ``COPY`` on
PostgreSQL and ``executemany`` on SQLite; the pairs are held in numpy arrays, eight
bytes a field, and sorted and cut into runs there.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, insert, select, text, update
from sqlalchemy.orm import Session

from loyalcode.channels import sscc as gs1
from loyalcode.channels.bulk import write_rows
from loyalcode.channels.cases import get_unit, new_packing
from loyalcode.channels.errors import (
    CaseOnTwoPallets,
    InvalidSscc,
    LogisticUnitNotFound,
    UnitInTwoCases,
    UnitNotFound,
    WrongUnitKind,
)
from loyalcode.channels.models import CaseContent, CaseMove, LogisticUnit
from loyalcode.channels.scans import Scan, read_scan
from loyalcode.codegen.batches import batch_for_serial
from loyalcode.codegen.errors import BatchVoid
from loyalcode.codegen.models import Batch
from loyalcode.codegen.visible import VisibleSerials, decode_visible
from loyalcode.errors import InvalidInput, LoyalcodeError
from loyalcode.store.timeutil import utc

_CHUNK = 1000  # keys an IN list
_HEADERS = {("case", "unit"), ("pallet", "case"), ("parent", "child")}


def at_line(err: LoyalcodeError, line: int) -> LoyalcodeError:
    """``err`` with ``Line N:`` before its message and ``line`` among its facts."""
    return type(err)(f"Line {line}: {err.message}", **{**err.facts, "line": line})


@dataclass
class Upload:
    """An upload as read, before any check against the database: the distinct SSCCs,
    and the pairs as parallel arrays (indexes into ``ssccs``)."""

    ssccs: list[str] = field(default_factory=list)
    unit_case: array = field(default_factory=lambda: array("q"))
    unit_batch: array = field(default_factory=lambda: array("q"))  # -1: ``unit_value`` is a serial
    unit_value: array = field(default_factory=lambda: array("q"))  # the SEQ, or the serial
    unit_line: array = field(default_factory=lambda: array("q"))
    pallet_parent: array = field(default_factory=lambda: array("q"))
    pallet_child: array = field(default_factory=lambda: array("q"))
    pallet_line: array = field(default_factory=lambda: array("q"))

    @property
    def pairs(self) -> int:
        return len(self.unit_line) + len(self.pallet_line)


def parse_upload(lines: Iterable[str], serials: VisibleSerials) -> Upload:
    """Read an upload: one ``PARENT,CHILD`` pair a line (a comma or a tab between; a
    first line ``case,unit`` is a header; blank lines and ``#`` comments skipped).

    Checks the form of every line (SSCC check digits, ``BATCH:SEQ`` numbers, visible
    serials of this deployment), raising the first bad line's error with ``Line N:``.
    """
    up = Upload()
    index: dict[str, int] = {}  # text as written -> index into up.ssccs
    by_number: dict[str, int] = {}
    u_case, u_batch, u_value, u_line = up.unit_case, up.unit_batch, up.unit_value, up.unit_line
    first = True

    def read(value: str, number: int) -> Scan:
        try:
            return read_scan(value)
        except (InvalidSscc, UnitNotFound) as err:
            raise at_line(err, number) from None

    def sscc_index(value: str, number: int) -> int:
        scan = read(value, number)
        if scan.kind != "sscc":
            try:
                gs1.validate(value)
            except InvalidSscc as err:
                raise at_line(err, number) from None
        code = scan.value
        i = by_number.setdefault(code, len(up.ssccs))
        if i == len(up.ssccs):
            up.ssccs.append(code)
        index[value] = i
        return i

    for number, raw in enumerate(lines, start=1):
        parent, sep, child = raw.partition(",")
        if not sep:
            parent, sep, child = raw.partition("\t")
        if not sep:
            body = raw.strip().lstrip("\ufeff")
            if not body or body.startswith("#"):
                continue
            raise InvalidInput(f"Line {number}: expected PARENT,CHILD (two fields).", line=number)
        parent, child = parent.strip().lstrip("\ufeff"), child.strip()
        if first:
            first = False
            if (parent.lower(), child.lower()) in _HEADERS:
                continue
        if parent.startswith("#"):
            continue
        i = index.get(parent)
        if i is None:
            i = sscc_index(parent, number)
        scan = read(child, number) if child else Scan("unit", "")
        batch, colon, seq = scan.value.partition(":")
        if colon:
            if not (batch.isascii() and batch.isdecimal() and seq.isascii() and seq.isdecimal()
                    and len(batch) <= 18 and len(seq) <= 18):
                raise UnitNotFound(f"Line {number}: a unit is BATCH:SEQ (two whole numbers) "
                                   "or a visible serial.", unit=child, line=number)
            u_case.append(i)
            u_batch.append(int(batch))
            u_value.append(int(seq))
            u_line.append(number)
        elif scan.kind == "sscc":
            j = index.get(child)
            if j is None:
                j = sscc_index(child, number)
            up.pallet_parent.append(i)
            up.pallet_child.append(j)
            up.pallet_line.append(number)
        else:
            serial = decode_visible(scan.value, serials) if scan.value else None
            if serial is None:
                raise UnitNotFound(f"Line {number}: the unit is neither BATCH:SEQ nor a visible "
                                   "serial of this deployment.", line=number)
            u_case.append(i)
            u_batch.append(-1)
            u_value.append(serial)
            u_line.append(number)
    if not up.pairs:
        raise InvalidInput("Nothing to upload: every line is blank, a comment or the header.")
    return up


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What an upload did: ``pairs`` read, ``units`` newly put in cases (``unchanged``
    were there already), ``rows`` of contents written, ``cases_on_pallets`` newly
    placed, and the ``packing`` id."""

    pairs: int
    units: int
    unchanged: int
    rows: int
    cases_on_pallets: int
    packing: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": self.pairs, "units": self.units, "unchanged": self.unchanged,
                "rows": self.rows, "cases_on_pallets": self.cases_on_pallets,
                "packing": self.packing}


class _Refusals:
    """The errors found, kept by line: the one of the first bad line is raised."""

    def __init__(self) -> None:
        self.found: list[tuple[int, LoyalcodeError]] = []

    def add(self, line: int, err: LoyalcodeError) -> None:
        self.found.append((line, err))

    def raise_first(self) -> None:
        if self.found:
            line, err = min(self.found, key=lambda f: f[0])
            raise at_line(err, line)


def _units_by_sscc(session: Session, codes: Sequence[str]) -> dict[str, tuple[int, str, int | None]]:
    u = LogisticUnit.__table__.c
    found: dict[str, tuple[int, str, int | None]] = {}
    for k in range(0, len(codes), _CHUNK):
        for r in session.execute(select(u.sscc, u.id, u.kind, u.pallet_id)
                                 .where(u.sscc.in_(codes[k:k + _CHUNK]))):
            found[r.sscc] = (int(r.id), str(r.kind), r.pallet_id)
    return found


def upload(session: Session, lines: Iterable[str], serials: VisibleSerials, *,
           actor: str | None = None, now: dt.datetime | None = None) -> UploadResult:
    """Read, check whole, then write an upload from the line, in the caller's
    transaction. Any bad line: its error (``Line N:``), nothing written."""
    up = parse_upload(lines, serials)
    refuse = _Refusals()
    known = _units_by_sscc(session, up.ssccs)
    ids = np.full(len(up.ssccs), -1, dtype=np.int64)
    kinds = [""] * len(up.ssccs)
    for i, code in enumerate(up.ssccs):
        if code in known:
            ids[i] = known[code][0]
            kinds[i] = known[code][1]

    def check_role(idx: np.ndarray, lines_: np.ndarray, want: str) -> None:
        uniq, first = np.unique(idx, return_index=True)
        for i, at in zip(uniq.tolist(), first.tolist(), strict=True):
            code = up.ssccs[i]
            if ids[i] < 0:
                refuse.add(int(lines_[at]), LogisticUnitNotFound(sscc=code))
            elif kinds[i] != want:
                refuse.add(int(lines_[at]), WrongUnitKind(sscc=code, kind=kinds[i], expected=want))

    u_case = np.frombuffer(up.unit_case, dtype=np.int64) if up.unit_case else np.zeros(0, np.int64)
    u_line = np.frombuffer(up.unit_line, dtype=np.int64) if up.unit_line else np.zeros(0, np.int64)
    p_parent = np.array(up.pallet_parent, dtype=np.int64)
    p_child = np.array(up.pallet_child, dtype=np.int64)
    p_line = np.array(up.pallet_line, dtype=np.int64)
    check_role(u_case, u_line, "case")
    check_role(p_parent, p_line, "pallet")
    check_role(p_child, p_line, "case")

    serial, batch_of = _unit_serials(session, up, u_line, refuse)
    refuse.raise_first()  # the checks below need every SSCC and unit known

    moment = utc(now)
    case_ids = ids[u_case] if len(u_case) else np.zeros(0, np.int64)
    keep, unchanged = _new_pairs(session, up, serial, case_ids, batch_of, u_line, refuse)
    links = _new_links(up, ids, known, p_parent, p_child, p_line, refuse)
    refuse.raise_first()

    serial, case_ids, batch_of = serial[keep], case_ids[keep], batch_of[keep]
    units = len(serial)
    packing = new_packing(session, "upload", units, actor, moment) if units or links else None
    rows = 0
    if units:
        brk = np.ones(units, dtype=bool)
        brk[1:] = ((serial[1:] != serial[:-1] + 1) | (case_ids[1:] != case_ids[:-1])
                   | (batch_of[1:] != batch_of[:-1]))
        starts = np.flatnonzero(brk)
        ends = np.append(starts[1:], units) - 1
        rows = write_rows(
            session, "case_contents",
            ("serial_start", "serial_end", "batch_id", "case_id", "packing_id"),
            zip(serial[starts].tolist(), (serial[ends] + 1).tolist(), batch_of[starts].tolist(),
                case_ids[starts].tolist(), [packing] * len(starts), strict=True),
        )
    u = LogisticUnit.__table__.c
    by_pallet: dict[int, list[int]] = {}
    for case_id, pallet_id in links.items():
        by_pallet.setdefault(pallet_id, []).append(case_id)
    for pallet_id, cases in by_pallet.items():
        for k in range(0, len(cases), _CHUNK):
            session.execute(update(LogisticUnit).where(u.id.in_(cases[k:k + _CHUNK]))
                            .values(pallet_id=pallet_id))
    return UploadResult(pairs=up.pairs, units=units, unchanged=unchanged, rows=rows,
                        cases_on_pallets=len(links), packing=packing)


def _unit_serials(session: Session, up: Upload, u_line: np.ndarray,
                  refuse: _Refusals) -> tuple[np.ndarray, np.ndarray]:
    """The global serial and batch of every unit pair; unknown units and void batches
    are refused with their lines. The batches touched are locked (one packing of a
    batch at a time)."""
    n = len(up.unit_line)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    u_batch = np.frombuffer(up.unit_batch, dtype=np.int64).copy()
    value = np.frombuffer(up.unit_value, dtype=np.int64)
    serial = np.zeros(n, dtype=np.int64)
    by_visible = np.flatnonzero(u_batch < 0)
    for k in by_visible.tolist():  # visible serials: their batch by serial range
        row = batch_for_serial(session, int(value[k]))
        if row is None:
            refuse.add(int(u_line[k]), UnitNotFound(unit=f"serial {int(value[k])}",
                                                    reason="in no batch"))
            u_batch[k] = 0
        else:
            u_batch[k] = row.id
        serial[k] = value[k]
    uniq, first = np.unique(u_batch, return_index=True)
    for b_id, at in zip(uniq.tolist(), first.tolist(), strict=True):
        batch = session.get(Batch, b_id, with_for_update=True) if b_id > 0 else None
        mask = u_batch == b_id
        if batch is None:
            if b_id > 0:
                refuse.add(int(u_line[at]), UnitNotFound(unit=f"{b_id}:{int(value[at])}",
                                                         reason=f"batch {b_id} not found"))
            continue
        if batch.status == "void":
            refuse.add(int(u_line[at]), BatchVoid(batch=batch.id))
            continue
        by_seq = mask & (u_batch >= 0)
        by_seq[by_visible] = False
        seqs = value[by_seq]
        bad = np.flatnonzero((seqs < 1) | (seqs > batch.quantity))
        if len(bad):
            k = int(np.flatnonzero(by_seq)[bad[0]])
            refuse.add(int(u_line[k]), UnitNotFound(
                unit=f"{b_id}:{int(value[k])}",
                reason=f"batch {b_id} has sequences 1..{batch.quantity}"))
        serial[by_seq] = seqs + (batch.serial_start - 1)
    return serial, u_batch


def _new_pairs(session: Session, up: Upload, serial: np.ndarray, case_ids: np.ndarray,
               batch_of: np.ndarray, u_line: np.ndarray,
               refuse: _Refusals) -> tuple[np.ndarray, int]:
    """Indexes (sorted by serial) of the pairs to write; how many were already there.
    A unit in two cases, in the file or against the database, is refused."""
    n = len(serial)
    if n == 0:
        return np.zeros(0, np.int64), 0
    order = np.argsort(serial, kind="stable")
    s, c = serial[order], case_ids[order]
    keep = np.ones(n, dtype=bool)
    same = np.flatnonzero(s[1:] == s[:-1]) + 1
    for k in same.tolist():
        if c[k] != c[k - 1]:
            later = max(int(u_line[order[k]]), int(u_line[order[k - 1]]))
            refuse.add(later, UnitInTwoCases(unit=_unit_name(up, int(order[k])),
                                             case=_sscc(session, int(c[k - 1])),
                                             other=_sscc(session, int(c[k]))))
        keep[k] = False
    # Against what is recorded: every content row that can cover a serial of the upload.
    cc = CaseContent.__table__.c
    ex: list[tuple[int, int, int]] = []
    for b_id in np.unique(batch_of).tolist():
        in_b = s[batch_of[order] == b_id]
        lo, hi = int(in_b.min()), int(in_b.max())
        ex += [(int(r.serial_start), int(r.serial_end), int(r.case_id)) for r in session.execute(
            select(cc.serial_start, cc.serial_end, cc.case_id)
            .where(cc.batch_id == b_id, cc.serial_start <= hi, cc.serial_end > lo))]
    unchanged = 0
    if ex:
        ex.sort()
        ex_start = np.array([e[0] for e in ex], dtype=np.int64)
        ex_end = np.array([e[1] for e in ex], dtype=np.int64)
        ex_case = np.array([e[2] for e in ex], dtype=np.int64)
        at = np.searchsorted(ex_start, s, side="right") - 1
        covered = (at >= 0) & (s < ex_end[np.maximum(at, 0)])
        covered &= keep
        idx = np.flatnonzero(covered)
        held = ex_case[at[idx]]
        other = idx[held != c[idx]]
        if len(other):  # the one of the first line is enough
            lines = u_line[order[other]]
            k = int(other[int(np.argmin(lines))])
            refuse.add(int(u_line[order[k]]), UnitInTwoCases(
                unit=_unit_name(up, int(order[k])), case=_sscc(session, int(ex_case[at[k]])),
                other=_sscc(session, int(c[k]))))
        unchanged = int(len(idx) - len(other))
        keep[idx] = False
    return order[keep], unchanged


def _new_links(up: Upload, ids: np.ndarray, known: dict[str, tuple[int, str, int | None]],
               p_parent: np.ndarray, p_child: np.ndarray, p_line: np.ndarray,
               refuse: _Refusals) -> dict[int, int]:
    """Case id -> pallet id of the ``PALLET,CASE`` pairs not yet recorded; a case on
    two pallets (in the file, or on another already) is refused."""
    links: dict[int, int] = {}
    seen: dict[int, tuple[int, int]] = {}
    for parent, child, line in zip(p_parent.tolist(), p_child.tolist(), p_line.tolist(), strict=True):
        case_code, pallet_code = up.ssccs[child], up.ssccs[parent]
        if case_code not in known or pallet_code not in known:
            continue
        if child in seen and seen[child][0] != parent:
            refuse.add(line, CaseOnTwoPallets(case=case_code, pallet=up.ssccs[seen[child][0]],
                                              other=pallet_code))
            continue
        seen.setdefault(child, (parent, line))
        current = known[case_code][2]
        pallet_id = int(ids[parent])
        if current is not None and current != pallet_id:
            now_on = next(c for c, v in known.items() if v[0] == current)
            refuse.add(line, CaseOnTwoPallets(case=case_code, pallet=now_on, other=pallet_code))
        elif current is None:
            links[int(ids[child])] = pallet_id
    return links


def _unit_name(up: Upload, k: int) -> str:
    b, v = up.unit_batch[k], up.unit_value[k]
    return f"{b}:{v}" if b >= 0 else f"serial {v}"


def _sscc(session: Session, unit_id: int) -> str:
    return str(session.scalar(select(LogisticUnit.sscc).where(LogisticUnit.id == unit_id)))


# --- units as people name them ----------------------------------------------------------


def unit_serial(session: Session, value: str, serials: VisibleSerials) -> tuple[Batch, int]:
    """The batch and global serial of a unit named ``BATCH:SEQ`` or by its visible
    serial (as typed or scanned off its outer code: see :mod:`loyalcode.channels.scans`);
    :class:`UnitNotFound` (or ``batch_void``) otherwise."""
    scan = read_scan(value)
    if scan.kind == "sscc":
        raise UnitNotFound(unit=scan.value, reason="an SSCC names a case or pallet, not a unit")
    text_ = scan.value
    batch_text, colon, seq_text = text_.partition(":")
    if colon:
        if not (batch_text.isascii() and batch_text.isdecimal() and seq_text.isascii()
                and seq_text.isdecimal() and len(batch_text) <= 18 and len(seq_text) <= 18):
            raise UnitNotFound(unit=text_, reason="a unit is BATCH:SEQ or a visible serial")
        batch = session.get(Batch, int(batch_text))
        if batch is None:
            raise UnitNotFound(unit=text_, reason=f"batch {batch_text} not found")
        seq = int(seq_text)
        if not 1 <= seq <= batch.quantity:
            raise UnitNotFound(unit=text_, reason=f"batch {batch.id} has sequences 1..{batch.quantity}")
        serial = batch.serial_start + seq - 1
    else:
        found = decode_visible(text_, serials) if text_ else None
        if found is None:
            raise UnitNotFound(unit="this unit",
                               reason="neither BATCH:SEQ nor a visible serial of this deployment")
        row = batch_for_serial(session, found)
        if row is None:
            raise UnitNotFound(unit=text_.upper(), reason="in no batch")
        batch, serial = row, found
    if batch.status == "void":
        raise BatchVoid(batch=batch.id)
    return batch, serial


# --- repacking --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoveResult:
    """A repack: ``units`` moved into ``to`` (``unchanged`` were in it already), or
    ``cases`` put on the pallet ``to``; the ``packing`` id."""

    to: str
    units: int
    unchanged: int
    cases: int
    packing: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"to": self.to, "units": self.units, "unchanged": self.unchanged,
                "cases": self.cases, "packing": self.packing}


def move(session: Session, items: Sequence[str], to: str, serials: VisibleSerials, *,
         actor: str | None = None, now: dt.datetime | None = None) -> MoveResult:
    """Repack (拆箱/换箱): move units (``BATCH:SEQ`` or visible serials) into the case
    ``to``, or cases (SSCCs) onto the pallet ``to``. Each moved run is recorded
    (:class:`~loyalcode.channels.models.CaseMove`) with the case it left; everything
    is checked before anything is written."""
    if not items:
        raise InvalidInput("Name the units (or cases) to move.")
    target = get_unit(session, to)
    moment = utc(now)
    if target.kind == "pallet":
        cases = [get_unit(session, item, "case") for item in items]
        placed = [c for c in cases if c.pallet_id != target.id]
        for c in placed:
            c.pallet_id = target.id
        session.flush()
        return MoveResult(to=target.sscc, units=0, unchanged=0, cases=len(placed), packing=None)
    located = sorted({unit_serial(session, item, serials)[1]: None for item in items})
    by_batch: dict[int, list[int]] = {}
    for s in located:
        b = batch_for_serial(session, s)
        assert b is not None  # unit_serial found it
        by_batch.setdefault(b.id, []).append(s)
    for b_id in by_batch:
        session.get(Batch, b_id, with_for_update=True)
    packing = new_packing(session, "move", len(located), actor, moment)
    moved = unchanged = 0
    for b_id, serial_list in by_batch.items():
        for lo, hi in _runs(serial_list):
            n_moved, n_same = _move_run(session, b_id, lo, hi, target.id, packing)
            moved += n_moved
            unchanged += n_same
    return MoveResult(to=target.sscc, units=moved, unchanged=unchanged, cases=0, packing=packing)


def _runs(serials: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted serials as half-open runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for s in sorted(serials):
        if runs and runs[-1][1] == s:
            runs[-1] = (runs[-1][0], s + 1)
        else:
            runs.append((s, s + 1))
    return runs


def _move_run(session: Session, batch_id: int, lo: int, hi: int, case_id: int,
              packing: int) -> tuple[int, int]:
    """Move serials ``[lo, hi)`` of a batch into a case; (moved, already there)."""
    cc = CaseContent.__table__.c
    rows = list(session.execute(
        select(cc.id, cc.serial_start, cc.serial_end, cc.case_id)
        .where(cc.serial_start < lo).order_by(cc.serial_start.desc()).limit(1)))
    rows = [r for r in rows if r.serial_end > lo]
    rows += list(session.execute(
        select(cc.id, cc.serial_start, cc.serial_end, cc.case_id)
        .where(cc.serial_start >= lo, cc.serial_start < hi).order_by(cc.serial_start)))
    pieces: list[tuple[int, int, int]] = []  # what stays where it was
    moves: list[tuple[int, int, int | None]] = []
    cursor = lo
    same = 0
    for r in rows:
        start, end, held = int(r.serial_start), int(r.serial_end), int(r.case_id)
        a, b = max(start, lo), min(end, hi)
        if a > cursor:
            moves.append((cursor, a, None))
        if held == case_id:
            same += b - a
            pieces.append((a, b, held))
        else:
            moves.append((a, b, held))
        if start < a:
            pieces.append((start, a, held))
        if end > b:
            pieces.append((b, end, held))
        cursor = b
    if cursor < hi:
        moves.append((cursor, hi, None))
    if not moves:
        return 0, same
    if rows:
        session.execute(delete(CaseContent).where(cc.id.in_([r.id for r in rows])))
    keep = pieces + [(a, b, case_id) for a, b, _ in moves]
    session.execute(insert(CaseContent), [
        {"serial_start": a, "serial_end": b, "batch_id": batch_id, "case_id": c,
         "packing_id": packing} for a, b, c in sorted(keep)])
    session.execute(insert(CaseMove), [
        {"packing_id": packing, "batch_id": batch_id, "serial_start": a, "serial_end": b,
         "from_case_id": held, "to_case_id": case_id} for a, b, held in moves])
    return sum(b - a for a, b, _ in moves), same


# --- where a unit is ------------------------------------------------------------------

#: A serial's case and pallet and the shipment whose activation decides its channel:
#: one probe of each unique ``serial_start`` index, as the scan reads its span.
_PLACE = text(
    "SELECT lu.sscc AS case_sscc, p.sscc AS pallet_sscc, sr.shipment_id "
    "FROM (SELECT 1 AS one) AS x "
    "LEFT JOIN case_contents cc ON cc.id = (SELECT c2.id FROM case_contents c2 "
    "WHERE c2.serial_start <= :serial ORDER BY c2.serial_start DESC LIMIT 1) "
    "AND cc.serial_end > :serial "
    "LEFT JOIN logistic_units lu ON lu.id = cc.case_id "
    "LEFT JOIN logistic_units p ON p.id = lu.pallet_id "
    "LEFT JOIN activation_spans a ON a.id = (SELECT a2.id FROM activation_spans a2 "
    "WHERE a2.serial_start <= :serial ORDER BY a2.serial_start DESC LIMIT 1) "
    "AND a.serial_end > :serial "
    "LEFT JOIN shipment_ranges sr ON sr.activation_id = a.activation_id"
)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a unit is: its case and pallet (SSCCs) and the shipment that sent it to
    its channel (``None`` where there is none)."""

    case: str | None
    pallet: str | None
    shipment: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "pallet": self.pallet, "shipment": self.shipment}


def place_of(conn: Connection | Session, serial: int) -> Place:
    """:class:`Place` of one serial, in one statement (the diversion alert's)."""
    r = conn.execute(_PLACE, {"serial": serial}).one()
    return Place(case=r.case_sscc, pallet=r.pallet_sscc,
                 shipment=int(r.shipment_id) if r.shipment_id is not None else None)


def places(conn: Connection | Session, serials: Iterable[int]) -> dict[int, Place]:
    """:class:`Place` of each serial (a statement each: for a lookup's few)."""
    return {s: place_of(conn, s) for s in serials}
