"""Returns without a destination: take units out of the activation map, so that a scan
of them gets ``not_activated``.

Each returned range becomes a deactivation entry of the activation history (an
activation with no channel, :func:`loyalcode.channels.activation.deactivate`), which
lays itself over the spans as any activation does: the history stays append-only and a
span rebuild from ``activations`` alone knows of every return. Shipping
(:mod:`loyalcode.channels.shipping`) calls nothing else for a plain return, and records
the returned ranges in ``shipment_ranges`` itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from loyalcode.channels.activation import ActivationInfo, deactivate


def deactivate_ranges(session: Session, batch_id: int, ranges: Sequence[tuple[int, int]],
                      now: dt.datetime) -> list[ActivationInfo]:
    """Deactivate sequences ``seq_from..seq_to`` (inclusive, from 1) of a batch, each
    ``(seq_from, seq_to)`` of ``ranges``, at ``now``, in the caller's transaction; the
    deactivation entries written, in order."""
    return [deactivate(session, batch_id, seq_from=lo, seq_to=hi, now=now) for lo, hi in ranges]
