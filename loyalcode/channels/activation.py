"""Activation: bind a shipped sequence range of a batch to a channel.

The warehouse's outbound scan. A range can be bound again later (a distributor
passing goods to a wholesaler below it): every activation is a new row, the newest
one covering a serial decides its channel, and the history stays. The first
activation moves the batch from ``created`` to ``active``. A code that no activation
covers cannot be redeemed.

Beside the history, each activation rewrites the map as it stands
(:class:`~loyalcode.redemption.models.ActivationSpan`: disjoint ranges, each with the
channel of the newest activation covering it), in the same transaction, so that a scan
reads one span however many activations its batch has had. The batch row is locked
first, so two activations of one batch at once take turns on its spans.

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
from sqlalchemy.orm import Session

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
class ActivationInfo:
    """One activation: which codes of which batch went to which channel, and when."""

    id: int
    batch: int
    channel: str
    seq_from: int
    seq_to: int
    serial_start: int
    serial_end: int
    created_at: dt.datetime
    batch_status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "batch": self.batch,
            "channel": self.channel,
            "from": self.seq_from,
            "to": self.seq_to,
            "quantity": self.serial_end - self.serial_start,
            "serial_start": self.serial_start,
            "serial_end": self.serial_end,
            "created_at": self.created_at.isoformat(),
            "batch_status": self.batch_status,
        }

    @classmethod
    def of(cls, row: Activation, batch: Batch, channel_code: str) -> ActivationInfo:
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

    The caller owns the transaction. A void batch is refused (``batch_void``).
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


def _locked_batch(session: Session, batch_id: int | str) -> Batch:
    """The batch, locked, and refused if void. One activation of a batch at a time
    (PostgreSQL; SQLite's writer lock already is), and its status as it stands once
    locked: a void committed meanwhile is seen."""
    batch = get_batch(session, batch_id)
    session.refresh(batch, with_for_update=True)
    require_not_void(batch)
    return batch


def _record(session: Session, batch: Batch, channel_row: Channel, start: int, end: int,
            now: dt.datetime) -> ActivationInfo:
    """Write the activation of seqs ``start..end`` of a locked batch and lay it over
    the spans."""
    row = Activation(
        batch_id=batch.id,
        serial_start=batch.serial_start + start - 1,
        serial_end=batch.serial_start + end,
        channel_id=channel_row.id,
        created_at=now,
    )
    session.add(row)
    if batch.status == "created":
        batch.status = "active"
    session.flush()
    _paint(session, row)
    return ActivationInfo.of(row, batch, channel_row.code)


_SPAN = cast(Table, ActivationSpan.__table__)


def _paint(session: Session, act: Activation) -> None:
    """Lay activation ``act`` over the spans: what it covers becomes its own, the parts
    of older spans outside it stay theirs. Every statement is an index range on
    ``serial_start``, in an order that keeps that column unique at each step."""
    start, end = act.serial_start, act.serial_end
    spans = _SPAN.c
    # The span that starts before the range and reaches into it: cut it at the start,
    # keeping what lies beyond the end (if anything) as a span of its own.
    before = session.execute(
        select(spans.id, spans.serial_end, spans.channel_id, spans.activation_id)
        .where(spans.serial_start < start)
        .order_by(spans.serial_start.desc())
        .limit(1)
    ).first()
    if before is not None and before.serial_end > start:
        if before.serial_end > end:
            session.execute(insert(_SPAN).values(
                serial_start=end, serial_end=before.serial_end, batch_id=act.batch_id,
                channel_id=before.channel_id, activation_id=before.activation_id,
            ))
        session.execute(update(_SPAN).where(spans.id == before.id).values(serial_end=start))
    # Spans that start inside the range: gone, but for the tail of one that runs past it.
    inside = (spans.serial_start >= start) & (spans.serial_start < end)
    session.execute(delete(_SPAN).where(inside & (spans.serial_end <= end)))
    session.execute(update(_SPAN).where(inside).values(serial_start=end))
    session.execute(insert(_SPAN).values(
        serial_start=start, serial_end=end, batch_id=act.batch_id,
        channel_id=act.channel_id, activation_id=act.id,
    ))


def activation_history(session: Session, batch_id: int | str) -> list[ActivationInfo]:
    """Every activation of a batch, oldest first (later rows win where they overlap)."""
    batch = get_batch(session, batch_id)
    rows = session.execute(
        select(Activation, Channel.code)
        .join(Channel, Channel.id == Activation.channel_id)
        .where(Activation.batch_id == batch.id)
        .order_by(Activation.id)
    ).all()
    return [ActivationInfo.of(a, batch, code) for a, code in rows]


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
    code in two overlapping ranges counts twice), ``channels`` the same per channel."""

    batch: int
    ranges: int
    codes: int
    channels: dict[str, int]
    activations: tuple[int, ...]

    @classmethod
    def of(cls, batch: int, infos: Iterable[ActivationInfo]) -> ActivationSummary:
        done = list(infos)
        channels: dict[str, int] = {}
        for info in done:
            quantity = info.serial_end - info.serial_start
            channels[info.channel] = channels.get(info.channel, 0) + quantity
        return cls(
            batch=batch,
            ranges=len(done),
            codes=sum(channels.values()),
            channels=channels,
            activations=tuple(info.id for info in done),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "ranges": self.ranges,
            "codes": self.codes,
            "channels": dict(self.channels),
            "activations": list(self.activations),
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
