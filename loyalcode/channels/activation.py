"""Activation: bind a shipped sequence range of a batch to a channel, and undo it.

The warehouse's outbound scan. A range can be bound again later (a distributor
passing goods to a wholesaler below it): every activation is a new row, the newest
one covering a serial decides its channel, and the history stays. The first
activation moves the batch from ``created`` to ``active``. A code that no activation
covers cannot be redeemed.

The history is append-only. A deactivation (:func:`deactivate`, e.g. a return) is an
entry with no channel: "not activated" from then on. An undo (:func:`undo`) is an entry
of its own that names the entry it reverses; the two cancel out, so each serial gets
back the state it had before the undone entry. Only an entry that is still the newest
over every serial it covers can be undone (otherwise the later ones are named).

Beside the history, each entry rewrites the map as it stands
(:class:`~loyalcode.channels.models.ActivationSpan`: disjoint activated ranges, each
with the channel of the newest effective activation covering it; ranges not activated
have no span), in the same transaction, so that a scan reads one span however many
activations its batch has had. The batch row is locked first, so two activations of
one batch at once take turns on its spans.

Each result says which earlier activations the entry replaced (``replaces``). A dry
run is the same call in a transaction the caller rolls back.

A warehouse ships carton by carton: :func:`parse_ranges` reads its management
system's export (``FROM,TO[,CHANNEL]`` a line, positions as sequence numbers or visible
serials) and :func:`activate_many` applies every range in the caller's transaction,
after checking them all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session, aliased

from loyalcode.channels.errors import (
    ActivationNotFound,
    ActivationNotUndoable,
    ActivationSuperseded,
)
from loyalcode.channels.models import Activation, ActivationSpan, Channel
from loyalcode.channels.tree import get_channel
from loyalcode.codegen.batches import get_batch, require_not_void, seq_range
from loyalcode.codegen.errors import RangeOutsideBatch
from loyalcode.codegen.models import Batch
from loyalcode.codegen.visible import VisibleSerials, for_salt, parse_position
from loyalcode.errors import InvalidInput, LoyalcodeError, NotInitialized
from loyalcode.store.models import Deployment
from loyalcode.store.timeutil import from_db, utc


@dataclass(frozen=True, slots=True)
class Covered:
    """Codes of one activation that an entry covers: ``codes`` of them, decided by
    activation ``activation`` for ``channel``."""

    activation: int
    channel: str
    codes: int

    def to_dict(self) -> dict[str, Any]:
        return {"activation": self.activation, "channel": self.channel, "codes": self.codes}


@dataclass(frozen=True, slots=True)
class ActivationInfo:
    """One entry of the history: which codes of which batch went to which channel
    (``channel`` ``None``: not activated from then on), and when.

    ``kind`` is ``activation``, ``deactivation`` or ``undo`` (``undoes``: the entry it
    reverses); ``undone_by`` the undo of this entry, if any. ``replaces`` is what the
    entry took over from earlier activations as it was written (and, for an undo,
    ``restores`` what came back); both are empty in a history listing.
    """

    id: int
    batch: int
    channel: str | None
    seq_from: int
    seq_to: int
    serial_start: int
    serial_end: int
    created_at: dt.datetime
    batch_status: str
    undoes: int | None = None
    undone_by: int | None = None
    replaces: tuple[Covered, ...] = ()
    restores: tuple[Covered, ...] = ()

    @property
    def kind(self) -> str:
        if self.undoes is not None:
            return "undo"
        return "deactivation" if self.channel is None else "activation"

    @property
    def quantity(self) -> int:
        return self.serial_end - self.serial_start

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "batch": self.batch,
            "channel": self.channel,
            "from": self.seq_from,
            "to": self.seq_to,
            "quantity": self.quantity,
            "serial_start": self.serial_start,
            "serial_end": self.serial_end,
            "created_at": self.created_at.isoformat(),
            "batch_status": self.batch_status,
            "undoes": self.undoes,
            "undone_by": self.undone_by,
            "replaces": [c.to_dict() for c in self.replaces],
            "restores": [c.to_dict() for c in self.restores],
        }

    @classmethod
    def of(cls, row: Activation, batch: Batch, channel_code: str | None, **more: Any) -> ActivationInfo:
        return cls(
            id=row.id,
            batch=batch.id,
            channel=channel_code,
            seq_from=batch.seq_of(row.serial_start),
            seq_to=batch.seq_of(row.serial_end - 1),
            serial_start=row.serial_start,
            serial_end=row.serial_end,
            created_at=from_db(row.created_at),  # type: ignore[arg-type]
            batch_status=batch.status,
            undoes=row.undoes_id,
            **more,
        )


def activate(
    session: Session,
    batch_id: int | str,
    *,
    channel: str | None = None,
    seq_from: int | None = None,
    seq_to: int | None = None,
    now: dt.datetime | None = None,
) -> ActivationInfo:
    """Bind sequence numbers ``seq_from..seq_to`` (inclusive, from 1; default: the whole
    batch) of a batch to ``channel`` (default: the batch's channel).

    The caller owns the transaction. A void batch is refused (``batch_void``). The
    result's ``replaces`` names the earlier activations it took codes from.
    """
    batch = _locked_batch(session, batch_id)
    if channel is not None:
        channel_row = get_channel(session, channel)
    elif batch.channel_id is not None:
        channel_row = session.get_one(Channel, batch.channel_id)
    else:
        raise InvalidInput(f"Batch {batch.id} has no default channel: name one with --channel.")
    start, end = seq_range(batch, seq_from, seq_to)
    return _record(session, batch, channel_row, start, end, utc(now))


def deactivate(
    session: Session,
    batch_id: int | str,
    *,
    seq_from: int,
    seq_to: int,
    now: dt.datetime | None = None,
) -> ActivationInfo:
    """Mark sequence numbers ``seq_from..seq_to`` of a batch not activated (a return):
    an entry with no channel. The caller owns the transaction; ``replaces`` names the
    activations whose codes it took back."""
    batch = _locked_batch(session, batch_id)
    start, end = seq_range(batch, seq_from, seq_to)
    return _record(session, batch, None, start, end, utc(now))


def _locked_batch(session: Session, batch_id: int | str) -> Batch:
    """The batch, locked, and refused if void. One activation of a batch at a time
    (PostgreSQL; SQLite's writer lock already is), and its status as it stands once
    locked: a void committed meanwhile is seen."""
    batch = get_batch(session, batch_id)
    session.refresh(batch, with_for_update=True)
    require_not_void(batch)
    return batch


def _record(session: Session, batch: Batch, channel_row: Channel | None, start: int, end: int,
            now: dt.datetime) -> ActivationInfo:
    """Write the entry for seqs ``start..end`` of a locked batch (``channel_row``
    ``None``: a deactivation) and lay it over the spans."""
    row = Activation(
        batch_id=batch.id,
        serial_start=batch.serial_start + start - 1,
        serial_end=batch.serial_start + end,
        channel_id=channel_row.id if channel_row is not None else None,
        created_at=now,
    )
    replaced = _covered(session, row.serial_start, row.serial_end)
    session.add(row)
    if batch.status == "created" and channel_row is not None:
        batch.status = "active"
    session.flush()
    _clear(session, row.serial_start, row.serial_end)
    if channel_row is not None:
        _insert_span(session, row.serial_start, row.serial_end, batch.id, channel_row.id, row.id)
    return ActivationInfo.of(row, batch, channel_row.code if channel_row else None,
                             replaces=replaced)


_SPAN = cast(Table, ActivationSpan.__table__)


def _spans_over(session: Session, start: int, end: int) -> list[Any]:
    """The spans that overlap ``[start, end)``, in order: the one starting before it
    (one probe) and those starting inside it (an index range)."""
    spans = _SPAN.c
    cols = (spans.id, spans.serial_start, spans.serial_end, spans.channel_id, spans.activation_id)
    found = []
    before = session.execute(
        select(*cols).where(spans.serial_start < start).order_by(spans.serial_start.desc()).limit(1)
    ).first()
    if before is not None and before.serial_end > start:
        found.append(before)
    found += session.execute(
        select(*cols).where(spans.serial_start >= start, spans.serial_start < end)
        .order_by(spans.serial_start)
    ).all()
    return found


def _covered(session: Session, start: int, end: int) -> tuple[Covered, ...]:
    """Per activation, how many codes of ``[start, end)`` it decides now."""
    codes: dict[tuple[int, int], int] = {}
    for span in _spans_over(session, start, end):
        key = (int(span.activation_id), int(span.channel_id))
        overlap = min(end, int(span.serial_end)) - max(start, int(span.serial_start))
        codes[key] = codes.get(key, 0) + overlap
    if not codes:
        return ()
    names = dict(session.execute(
        select(Channel.id, Channel.code).where(Channel.id.in_({c for _, c in codes}))
    ).tuples().all())
    return tuple(Covered(a, names[c], n) for (a, c), n in sorted(codes.items()))


def _clear(session: Session, start: int, end: int) -> None:
    """Take ``[start, end)`` out of the spans: the parts of older spans outside it stay
    theirs. Every statement is an index range on ``serial_start``, in an order that
    keeps that column unique at each step."""
    spans = _SPAN.c
    # The span that starts before the range and reaches into it: cut it at the start,
    # keeping what lies beyond the end (if anything) as a span of its own.
    before = session.execute(
        select(spans.id, spans.serial_end, spans.batch_id, spans.channel_id, spans.activation_id)
        .where(spans.serial_start < start)
        .order_by(spans.serial_start.desc())
        .limit(1)
    ).first()
    if before is not None and before.serial_end > start:
        if before.serial_end > end:
            _insert_span(session, end, before.serial_end, before.batch_id, before.channel_id,
                         before.activation_id)
        session.execute(update(_SPAN).where(spans.id == before.id).values(serial_end=start))
    # Spans that start inside the range: gone, but for the tail of one that runs past it.
    inside = (spans.serial_start >= start) & (spans.serial_start < end)
    session.execute(delete(_SPAN).where(inside & (spans.serial_end <= end)))
    session.execute(update(_SPAN).where(inside).values(serial_start=end))


def _insert_span(session: Session, start: int, end: int, batch: int, channel: int,
                 activation: int) -> None:
    session.execute(insert(_SPAN).values(
        serial_start=start, serial_end=end, batch_id=batch, channel_id=channel,
        activation_id=activation,
    ))


def get_activation(session: Session, activation_id: int | str) -> Activation:
    """The history entry ``activation_id``, or :class:`ActivationNotFound`."""
    text_id = str(activation_id).strip()
    row = None
    if text_id.isascii() and text_id.isdecimal() and len(text_id) <= 18:
        row = session.get(Activation, int(text_id))
    if row is None:
        raise ActivationNotFound(activation=str(activation_id))
    return row


def _effective(batch_id: int) -> Any:
    """Entries of a batch that count: neither an undo nor undone."""
    undo = aliased(Activation)
    return (
        (Activation.batch_id == batch_id)
        & Activation.undoes_id.is_(None)
        & ~select(undo.id).where(undo.undoes_id == Activation.id).exists()
    )


def undo(
    session: Session, activation_id: int | str, *, now: dt.datetime | None = None
) -> ActivationInfo:
    """Reverse entry ``activation_id`` (an activation or a deactivation): each serial it
    covers gets back the state it had before it (the channel of the newest earlier
    activation still in force, or not activated). Written as an undo entry of its own.

    Refused (``activation_superseded``, the later entries named) unless the entry is
    still the newest over every serial it covers; an undo entry, or an entry already
    undone, is ``activation_not_undoable``. The caller owns the transaction.
    """
    target = get_activation(session, activation_id)
    batch = _locked_batch(session, target.batch_id)
    if target.undoes_id is not None:
        raise ActivationNotUndoable(
            detail=f"Activation {target.id} is itself an undo (of activation "
            f"{target.undoes_id}): activate the codes again instead."
        )
    undone_by = session.scalar(select(Activation.id).where(Activation.undoes_id == target.id))
    if undone_by is not None:
        raise ActivationNotUndoable(
            detail=f"Activation {target.id} was already undone (by activation {undone_by})."
        )
    start, end = target.serial_start, target.serial_end
    overlapping = (Activation.serial_start < end) & (Activation.serial_end > start)
    later = session.scalars(
        select(Activation.id).where(_effective(batch.id), overlapping, Activation.id > target.id)
        .order_by(Activation.id)
    ).all()
    if later:
        shown = ", ".join(map(str, later[:10])) + (", ..." if len(later) > 10 else "")
        raise ActivationSuperseded(
            activation=target.id, later=shown, noun="activation" if len(later) == 1 else "activations",
            cover="covers" if len(later) == 1 else "cover",
            them="it first" if len(later) == 1 else "them first, newest first",
        )
    earlier = session.execute(
        select(Activation.id, Activation.serial_start, Activation.serial_end, Activation.channel_id)
        .where(_effective(batch.id), overlapping, Activation.id < target.id)
    ).all()
    segments = newest_wins(
        [(int(a), int(s), int(e), None if c is None else int(c)) for a, s, e, c in earlier],
        start, end,
    )
    replaced = _covered(session, start, end)
    row = Activation(batch_id=batch.id, serial_start=start, serial_end=end, channel_id=None,
                     undoes_id=target.id, created_at=utc(now))
    session.add(row)
    session.flush()
    _clear(session, start, end)
    restored: dict[tuple[int, int], int] = {}
    for s, e, act, channel in segments:
        if channel is not None:
            _insert_span(session, s, e, batch.id, channel, act)
            restored[(act, channel)] = restored.get((act, channel), 0) + e - s
    names = dict(session.execute(
        select(Channel.id, Channel.code).where(Channel.id.in_({c for _, c in restored}))
    ).tuples().all()) if restored else {}
    return ActivationInfo.of(
        row, batch, None, replaces=replaced,
        restores=tuple(Covered(a, names[c], n) for (a, c), n in sorted(restored.items())),
    )


def newest_wins(
    entries: Iterable[tuple[int, int, int, int | None]], start: int, end: int
) -> list[tuple[int, int, int, int | None]]:
    """The map over ``[start, end)`` that entries ``(id, serial_start, serial_end,
    channel_id)`` leave when the newest (highest id) covering a serial decides it:
    disjoint ``(serial_start, serial_end, id, channel_id)`` in order (``channel_id``
    ``None``: decided "not activated"); serials no entry covers are left out."""
    decided: list[tuple[int, int, int, int | None]] = []
    taken: list[tuple[int, int]] = []  # disjoint, sorted
    for act, s, e, channel in sorted(entries, reverse=True):
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        cursor = s
        for ts, te in taken:
            if te <= cursor or ts >= e:
                continue
            if ts > cursor:
                decided.append((cursor, ts, act, channel))
            cursor = max(cursor, te)
        if cursor < e:
            decided.append((cursor, e, act, channel))
        merged: list[tuple[int, int]] = []
        for ts, te in sorted([*taken, (s, e)]):
            if merged and ts <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(te, merged[-1][1]))
            else:
                merged.append((ts, te))
        taken = merged
    return sorted(decided)


def activation_history(
    session: Session, batch_id: int | str | None = None
) -> list[ActivationInfo]:
    """Every entry of a batch's history (``None``: of every batch), oldest first (later
    entries win where they overlap; an entry and its undo cancel out), each with the
    undo that reversed it if any."""
    undo_row = aliased(Activation)
    query = (
        select(Activation, Batch, Channel.code, undo_row.id)
        .join(Batch, Batch.id == Activation.batch_id)
        .outerjoin(Channel, Channel.id == Activation.channel_id)
        .outerjoin(undo_row, undo_row.undoes_id == Activation.id)
        .order_by(Activation.id)
    )
    if batch_id is not None:
        query = query.where(Activation.batch_id == get_batch(session, batch_id).id)
    return [
        ActivationInfo.of(a, b, code, undone_by=undone)
        for a, b, code, undone in session.execute(query).all()
    ]


# --- many ranges at once: a warehouse's export ------------------------------------


@dataclass(frozen=True, slots=True)
class RangeLine:
    """One range to activate: sequence numbers ``seq_from..seq_to`` (inclusive, from 1)
    for ``channel`` (``None``: the command's default), from line ``line`` of its file."""

    line: int
    seq_from: int
    seq_to: int
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class ActivationSummary:
    """What one bulk activation did: ``codes`` is the sum of the ranges' lengths (a
    code in two overlapping ranges counts twice), ``channels`` the same per channel,
    ``replaces`` the codes taken from activations written before it."""

    batch: int
    ranges: int
    codes: int
    channels: dict[str, int]
    activations: tuple[int, ...]
    replaces: tuple[Covered, ...] = ()

    @classmethod
    def of(cls, batch: int, infos: Iterable[ActivationInfo]) -> ActivationSummary:
        done = list(infos)
        ids = {info.id for info in done}
        channels: dict[str, int] = {}
        replaced: dict[tuple[int, str], int] = {}
        for info in done:
            key = info.channel or ""
            channels[key] = channels.get(key, 0) + info.quantity
            for c in info.replaces:
                if c.activation not in ids:
                    replaced[(c.activation, c.channel)] = replaced.get((c.activation, c.channel), 0) + c.codes
        return cls(
            batch=batch,
            ranges=len(done),
            codes=sum(channels.values()),
            channels=channels,
            activations=tuple(info.id for info in done),
            replaces=tuple(Covered(a, c, n) for (a, c), n in sorted(replaced.items())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "ranges": self.ranges,
            "codes": self.codes,
            "channels": dict(self.channels),
            "activations": list(self.activations),
            "replaces": [c.to_dict() for c in self.replaces],
        }


def visible_serials(session: Session) -> VisibleSerials:
    """The decoder of this deployment's visible serials (its salt is in the database)."""
    salt = session.scalar(select(Deployment.visible_salt).where(Deployment.id == 1))
    if salt is None:
        raise NotInitialized(url="this database")
    return for_salt(str(salt))


_SEPARATOR = re.compile(r"\s*[,\t]\s*|\s+")
_HEADERS = (["from", "to"], ["from", "to", "channel"])


def parse_ranges(lines: Iterable[str], batch: Batch, serials: VisibleSerials) -> list[RangeLine]:
    """The ranges of a warehouse's export, one ``FROM,TO[,CHANNEL]`` a line.

    Separators are a comma, a tab or spaces. Blank lines, lines starting with ``#`` and
    a first line ``from,to[,channel]`` (a header) are skipped; an empty CHANNEL means
    the default. FROM and TO are read by :func:`parse_position` and must lie in the
    batch, FROM not after TO. A bad line raises the project's error for it (its code:
    ``range_outside_batch``, ``invalid_input``) with ``Line N:`` before the message and
    ``line`` among its facts. No ranges at all is an error too.
    """
    found: list[RangeLine] = []
    first = True
    for number, raw in enumerate(lines, start=1):
        text = raw.lstrip("\ufeff").strip() if number == 1 else raw.strip()
        if not text or text.startswith("#"):
            continue
        fields = _SEPARATOR.split(text)
        if first and [f.lower() for f in fields] in _HEADERS:
            first = False
            continue
        first = False
        with at_line(number):
            found.append(_parse_line(number, fields, batch, serials))
    if not found:
        raise InvalidInput("No ranges to activate: every line is blank, a comment or the header.")
    return found


def _parse_line(number: int, fields: list[str], batch: Batch, serials: VisibleSerials) -> RangeLine:
    if len(fields) not in (2, 3):
        raise InvalidInput(f"expected FROM,TO[,CHANNEL] (2 or 3 fields), found {len(fields)}.")
    start = parse_position(fields[0], batch, serials, name="FROM")
    end = parse_position(fields[1], batch, serials, name="TO")
    if start > end:
        raise RangeOutsideBatch(
            f"FROM (sequence number {start}) is after TO ({end}).",
            start=start, end=end, batch=batch.id, quantity=batch.quantity,
        )
    seq_range(batch, start, end)
    channel = fields[2] if len(fields) == 3 and fields[2] else None
    return RangeLine(line=number, seq_from=start, seq_to=end, channel=channel)


@contextmanager
def at_line(number: int) -> Iterator[None]:
    """Re-raise the project's errors with ``Line N:`` before the message and ``line``
    among the facts, keeping their class and so their stable code."""
    try:
        yield
    except LoyalcodeError as err:
        raise type(err)(f"Line {number}: {err.message}", **{**err.facts, "line": number}) from err


def check_ranges(
    session: Session, batch_id: int | str, ranges: Iterable[RangeLine], *, channel: str | None = None
) -> list[RangeLine]:
    """The ranges, each with its channel named (its own, else ``channel``, else the
    batch's default), once the batch is found not void, every range inside it and
    every channel there (each looked up once). Writes nothing."""
    batch = get_batch(session, batch_id)
    require_not_void(batch)
    known: dict[str, str] = {}

    def channel_of(code: str) -> str:
        if code not in known:
            known[code] = get_channel(session, code).code
        return known[code]

    fallback = channel_of(channel) if channel is not None else None
    if fallback is None and batch.channel_id is not None:
        fallback = session.get_one(Channel, batch.channel_id).code
    checked = []
    for r in ranges:
        with at_line(r.line):
            seq_range(batch, r.seq_from, r.seq_to)
            if r.channel is None and fallback is None:
                raise InvalidInput(
                    f"Batch {batch.id} has no default channel: name one with --channel "
                    "or on the line."
                )
            code = channel_of(r.channel) if r.channel is not None else fallback
            checked.append(replace(r, channel=code))
    return checked


def activate_many(
    session: Session,
    batch_id: int | str,
    ranges: Iterable[RangeLine],
    *,
    channel: str | None = None,
    now: dt.datetime | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> list[ActivationInfo]:
    """Activate every range, in order (later ranges win where they overlap, as
    separate :func:`activate` calls would), in the caller's transaction.

    :func:`check_ranges` checks them all first, so a bad range writes nothing.
    The activations share the moment ``now``; ``on_progress(1)`` follows each range.
    """
    batch = _locked_batch(session, batch_id)  # once, not once a range
    checked = check_ranges(session, batch_id, ranges, channel=channel)
    moment = utc(now)
    channels: dict[str, Channel] = {}
    done = []
    for r in checked:
        code = r.channel or ""  # check_ranges named every range's channel
        if code not in channels:
            channels[code] = get_channel(session, code)
        done.append(_record(session, batch, channels[code], r.seq_from, r.seq_to, moment))
        if on_progress is not None:
            on_progress(1)
    return done
