"""Tables of the distribution: channels (the tree), activations (the history of what
was shipped where) and activation spans (the map as it stands).

Per-code state is sparse: activations are ranges of serials, never rows per code.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalcode.codegen.models import Batch
from loyalcode.store.db import Base, reference

CHANNEL_KINDS = ("distributor", "wholesaler", "retailer", "ecommerce")


class Channel(Base):
    """A distributor, wholesaler, retailer or e-commerce shop in the distribution tree."""

    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('distributor', 'wholesaler', 'retailer', 'ecommerce')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(6))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    parent: Mapped[Channel | None] = relationship(remote_side=[id])


class Activation(Base):
    """An entry of the activation history of a serial range ``[serial_start,
    serial_end)`` of a batch: bound to a channel, or (``channel_id`` NULL) "not
    activated" (a deactivation, e.g. a return).

    Rows are never updated or deleted: a re-activation adds a row, and the newest
    effective row (highest id) covering a serial is the one that counts, so the history
    is kept. An undo is a row of its own (``undoes_id``: the entry it reverses, no
    channel); an entry and its undo cancel out, so the state before the entry returns.
    ``undoes_id`` is unique: an entry is undone at most once (the constraint is the
    guard against two undos at once, not a check-then-write).
    """

    __tablename__ = "activations"
    __table_args__ = (
        CheckConstraint("serial_end > serial_start", name="range"),
        CheckConstraint("undoes_id IS NULL OR channel_id IS NULL", name="undo"),
        Index("ix_activations_batch_id_serial_start", "batch_id", "serial_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    serial_start: Mapped[int] = mapped_column(BigInteger)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("activations.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ActivationSpan(Base):
    """The activation map as it stands: disjoint serial ranges ``[serial_start,
    serial_end)``, each with the channel of the newest effective activation covering
    it. Ranges that are not activated (never, deactivated, undone) have no span.

    Derived from :class:`Activation` (the history) by ``activate()`` in the same
    transaction, so a scan finds its channel with one probe of the unique
    ``serial_start`` index (the span starting at or below the serial), however many
    activations a batch has had. Serials are global, so spans of all batches share one
    index; a span never crosses a batch's range.
    """

    __tablename__ = "activation_spans"
    __table_args__ = (
        CheckConstraint("serial_end > serial_start", name="range"),
        Index("ix_activation_spans_batch_id_channel_id", "batch_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_start: Mapped[int] = mapped_column(BigInteger, unique=True)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    activation_id: Mapped[int] = mapped_column(ForeignKey("activations.id"))


# Keys from a lower package's tables to this one's (see loyalcode.store.db.reference).
reference(Batch.__table__, "channel_id", "channels.id")  # type: ignore[arg-type]
