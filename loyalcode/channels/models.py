"""Tables of the distribution: channels (the tree), activations (the history of what
was shipped where) and activation spans (the map as it stands); logistic units (cases
and pallets with their SSCCs), what each case holds (aggregation), and shipments.

Per-code state is sparse: activations and case contents are ranges of serials, never
rows per code.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalcode.codegen.models import Batch
from loyalcode.store.db import Base, reference
from loyalcode.store.timeutil import UtcDateTime, now_utc

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
        UtcDateTime(), default=now_utc, server_default=func.now()
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
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


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


# --- logistics: cases, pallets, aggregation, shipments ---------------------------------


class SsccCounter(Base):
    """The next serial reference of SSCCs under one GS1 company prefix and extension
    digit, allocated by ``UPDATE ... RETURNING`` as batch serials are."""

    __tablename__ = "sscc_counters"

    company_prefix: Mapped[str] = mapped_column(String(12), primary_key=True)
    extension: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_ref: Mapped[int] = mapped_column(BigInteger)


class LogisticUnit(Base):
    """A case or a pallet, known by its GS1 SSCC-18 (printed outside: not secret).

    A case may stand on a pallet (``pallet_id``); what a case holds is
    :class:`CaseContent`.
    """

    __tablename__ = "logistic_units"
    __table_args__ = (
        CheckConstraint("kind IN ('case', 'pallet')", name="kind"),
        Index("ix_logistic_units_pallet_id", "pallet_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sscc: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    pallet_id: Mapped[int | None] = mapped_column(ForeignKey("logistic_units.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Packing(Base):
    """One aggregation operation: a pack by sequence, an upload from the line, a move
    (repack). Contents and moves point at the packing that wrote them."""

    __tablename__ = "packings"
    __table_args__ = (
        CheckConstraint("kind IN ('pack', 'upload', 'move')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    units: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CaseContent(Base):
    """The aggregation map as it stands: disjoint serial ranges ``[serial_start,
    serial_end)`` of one batch, each in one case. A run of consecutive sequences in one
    case is one row, so a batch packed mostly in order costs rows in proportion to its
    cases and exceptions. The unique ``serial_start`` finds a unit's case in one probe
    (the range starting at or below its serial), as activation spans do."""

    __tablename__ = "case_contents"
    __table_args__ = (
        CheckConstraint("serial_end > serial_start", name="range"),
        Index("ix_case_contents_case_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_start: Mapped[int] = mapped_column(BigInteger, unique=True)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("logistic_units.id"))
    packing_id: Mapped[int] = mapped_column(ForeignKey("packings.id"))


class CaseMove(Base):
    """The history of repacking: units ``[serial_start, serial_end)`` moved from one
    case (``None``: they were in none) to another."""

    __tablename__ = "case_moves"
    __table_args__ = (
        CheckConstraint("serial_end > serial_start", name="range"),
        Index("ix_case_moves_batch_id_serial_start", "batch_id", "serial_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    packing_id: Mapped[int] = mapped_column(ForeignKey("packings.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    serial_start: Mapped[int] = mapped_column(BigInteger)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    from_case_id: Mapped[int | None] = mapped_column(ForeignKey("logistic_units.id"))
    to_case_id: Mapped[int] = mapped_column(ForeignKey("logistic_units.id"))


class Shipment(Base):
    """A warehouse's outbound (``ship``) or inbound (``return``) shipment, scan by scan.

    Closing it activates every unit scanned for ``channel_id``; a return with no
    channel deactivates them. ``units`` is what the close covered.
    """

    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint("kind IN ('ship', 'return')", name="kind"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint("kind = 'return' OR channel_id IS NOT NULL", name="channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    opened_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(64))
    units: Mapped[int | None] = mapped_column(BigInteger)


class ShipmentScan(Base):
    """One scan of an open shipment: a case or pallet (``unit_id``) or a single unit
    (its ``serial``). The unique indexes make a repeated scan a no-op."""

    __tablename__ = "shipment_scans"
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (serial IS NULL)", name="one"),
        Index("ix_shipment_scans_shipment_unit", "shipment_id", "unit_id", unique=True),
        Index("ix_shipment_scans_shipment_serial", "shipment_id", "serial", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("logistic_units.id"))
    serial: Mapped[int | None] = mapped_column(BigInteger)
    scanned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ShipmentRange(Base):
    """What a closed shipment covered: serial ranges of one batch, each with the
    activation it wrote (``None`` for a deactivating return)."""

    __tablename__ = "shipment_ranges"
    __table_args__ = (
        CheckConstraint("serial_end > serial_start", name="range"),
        Index("ix_shipment_ranges_shipment_id", "shipment_id"),
        Index("ix_shipment_ranges_batch_id_serial_start", "batch_id", "serial_start"),
        Index("ix_shipment_ranges_activation_id", "activation_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    serial_start: Mapped[int] = mapped_column(BigInteger)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("activations.id"))


# Keys from a lower package's tables to this one's (see loyalcode.store.db.reference).
reference(Batch.__table__, "channel_id", "channels.id")  # type: ignore[arg-type]
