"""Tables of the events outbox: the events the CRM reads, and the webhook dispatcher's
deliveries of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from loyalcode.store.db import Base
from loyalcode.store.timeutil import UtcDateTime

EVENT_TYPES = (
    "member_joined",
    "points_earned",
    "phone_bound",
    "members_merged",
    "clone_alert",
    "diversion_alert",
    "member_forgotten",
)


class Event(Base):
    """The outbox the CRM reads: written in the same transaction as its cause.

    Readers page by id (``id > last seen``), which the primary key serves. Rows are
    immutable but for ``acknowledged_at`` and an erasure, which removes the ``phone``
    from a payload (a trigger holds both, migration 0008): a merge leaves the absorbed
    member's events as they were written (the ``members_merged`` event says who was
    joined to whom).
    So there is deliberately no index on ``member_id`` nor on ``acknowledged_at``: each
    would cost every redemption's commit a page of its own.

    ``txid`` (PostgreSQL only, a column default: migration 0013) is the writing
    transaction's id, so that the HTTP feed can page in an order that commits never
    overtake (:func:`loyalcode.events.outbox.feed`); one index entry an event.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_txid_id", "txid", "id", postgresql_where=text("txid IS NOT NULL"),
              sqlite_where=text("txid IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    # A member of :mod:`loyalcode.loyalty`, which declares the key.
    member_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    txid: Mapped[int | None] = mapped_column(BigInteger)


class EventDelivery(Base):
    """Webhook delivery state of one event: attempts, a lease so that two dispatchers
    never post the same event at once, and when it was delivered."""

    __tablename__ = "event_deliveries"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
