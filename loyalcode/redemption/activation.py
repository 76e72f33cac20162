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
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from loyalcode.codegen.batches import get_batch, require_not_void, seq_range
from loyalcode.codegen.channels import get_channel
from loyalcode.codegen.errors import InvalidInput
from loyalcode.codegen.models import Batch, Channel
from loyalcode.redemption.models import Activation, ActivationSpan
from loyalcode.redemption.timeutil import from_db, utc


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
    batch = get_batch(session, batch_id)
    # One activation of a batch at a time (PostgreSQL; SQLite's writer lock already is).
    session.execute(select(Batch.id).where(Batch.id == batch.id).with_for_update())
    require_not_void(batch)
    if channel is not None:
        channel_row = get_channel(session, channel)
    elif batch.channel is not None:
        channel_row = batch.channel
    else:
        raise InvalidInput(f"Batch {batch.id} has no default channel: name one with --channel.")
    start, end = seq_range(batch, seq_from, seq_to)
    row = Activation(
        batch_id=batch.id,
        serial_start=batch.serial_start + start - 1,
        serial_end=batch.serial_start + end,
        channel_id=channel_row.id,
        created_at=utc(now),
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
