"""Activation: bind a shipped sequence range of a batch to a channel.

The warehouse's outbound scan. A range can be bound again later (a distributor
passing goods to a wholesaler below it): every activation is a new row, the newest
one covering a serial decides its channel, and the history stays. The first
activation moves the batch from ``created`` to ``active``. A code that no activation
covers cannot be redeemed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalcode.codegen.batches import get_batch, require_not_void, seq_range
from loyalcode.codegen.channels import get_channel
from loyalcode.codegen.errors import InvalidInput
from loyalcode.codegen.models import Batch, Channel
from loyalcode.redemption.models import Activation
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
    return ActivationInfo.of(row, batch, channel_row.code)


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
