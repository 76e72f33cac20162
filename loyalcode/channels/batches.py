"""Batches with their default channel: what the faces create, list and show.

The code core (:mod:`loyalcode.codegen.batches`) allocates serial ranges and knows a
batch's default channel by row id only, since the distribution tree sits above it.
Here the channel is named by its code, checked against the tree, and reported back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalcode.channels.models import Channel
from loyalcode.channels.tree import get_channel
from loyalcode.codegen import batches as core
from loyalcode.codegen.models import Batch


@dataclass(frozen=True, slots=True)
class BatchInfo(core.BatchInfo):
    """A batch as callers and ``--json`` see it, with its default channel's code."""

    channel: str | None

    @classmethod
    def with_channel(cls, row: Batch, channel: str | None) -> BatchInfo:
        base = core.BatchInfo.of(row)
        return cls(**{f.name: getattr(base, f.name) for f in fields(base)}, channel=channel)


def create_batch(
    session: Session,
    *,
    sku: str,
    quantity: int | str,
    points: int | str,
    payload_template: str,
    channel: str | None = None,
    **details: str | dt.date | None,
) -> Batch:
    """:func:`loyalcode.codegen.batches.create_batch` with the default channel named by
    its code (:class:`~loyalcode.channels.errors.ChannelNotFound` if it is not in the
    tree). ``details``: ``name``, ``gtin``, ``line``, ``produced_on``, ``redeem_from``,
    ``redeem_until``. The caller owns the transaction."""
    channel_id = get_channel(session, channel).id if channel else None
    return core.create_batch(
        session,
        sku=sku,
        quantity=quantity,
        points=points,
        payload_template=payload_template,
        channel_id=channel_id,
        **details,  # type: ignore[arg-type]
    )


def batch_info(session: Session, row: Batch) -> BatchInfo:
    """One batch with its default channel's code."""
    code = session.scalar(select(Channel.code).where(Channel.id == row.channel_id)) if row.channel_id else None
    return BatchInfo.with_channel(row, code)


def list_batches(session: Session) -> list[BatchInfo]:
    """Every batch, newest first, with its default channel's code (one query)."""
    rows = session.execute(
        select(Batch, Channel.code)
        .outerjoin(Channel, Channel.id == Batch.channel_id)
        .order_by(Batch.id.desc())
    ).all()
    return [BatchInfo.with_channel(batch, code) for batch, code in rows]

