"""Returns without a destination: take units out of the activation map, so that a scan
of them gets ``not_activated``.

TODO(issue 13, at merge): issue 13 adds to :mod:`loyalcode.channels.activation` an
append-only "deactivation" entry (an activation with no channel, migration 0009) that
lays itself over the spans as any activation does. At merge, replace the body of
:func:`deactivate_ranges` with a call to it and drop :func:`_cut`; shipping
(:mod:`loyalcode.channels.shipping`) calls nothing else for a plain return, and it
records the returned ranges itself (``shipment_ranges``, no activation), so the
history stays whole either way. Until then the ranges are cut out of the spans here,
and the return shipment is the only record of it (a span rebuild from ``activations``
alone would not know of it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from loyalcode.channels.models import ActivationSpan
from loyalcode.codegen.batches import get_batch, require_not_void

_SPAN = cast(Table, ActivationSpan.__table__)


def deactivate_ranges(session: Session, batch_id: int, ranges: Sequence[tuple[int, int]],
                      now: dt.datetime) -> None:
    """Deactivate sequences ``seq_from..seq_to`` (inclusive, from 1) of a batch, each
    ``(seq_from, seq_to)`` of ``ranges``, at ``now``, in the caller's transaction."""
    batch = get_batch(session, batch_id)
    session.refresh(batch, with_for_update=True)  # as activate() does: one at a time
    require_not_void(batch)
    for seq_from, seq_to in ranges:
        _cut(session, batch.serial_start + seq_from - 1, batch.serial_start + seq_to)


def _cut(session: Session, start: int, end: int) -> None:
    """Remove serials ``[start, end)`` from the spans (``activation._paint`` without
    the new span)."""
    spans = _SPAN.c
    before = session.execute(
        select(spans.id, spans.serial_end, spans.batch_id, spans.channel_id, spans.activation_id)
        .where(spans.serial_start < start).order_by(spans.serial_start.desc()).limit(1)
    ).first()
    if before is not None and before.serial_end > start:
        if before.serial_end > end:
            session.execute(insert(_SPAN).values(
                serial_start=end, serial_end=before.serial_end, batch_id=before.batch_id,
                channel_id=before.channel_id, activation_id=before.activation_id))
        session.execute(update(_SPAN).where(spans.id == before.id).values(serial_end=start))
    inside = (spans.serial_start >= start) & (spans.serial_start < end)
    session.execute(delete(_SPAN).where(inside & (spans.serial_end <= end)))
    session.execute(update(_SPAN).where(inside).values(serial_start=end))
