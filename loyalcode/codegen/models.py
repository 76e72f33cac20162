"""Tables of the code-generation core: the deployment row, channels and batches.

No table holds a code or anything a code can be computed from without the key: a
batch is a serial range, and codes are derived from the key on export or print.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalcode.codegen.db import Base

CHANNEL_KINDS = ("distributor", "wholesaler", "retailer", "ecommerce")
BATCH_STATUSES = ("created", "active", "closed", "void")


class Deployment(Base):
    """The one row that holds the key's fingerprint and the serial counter.

    ``next_serial`` is allocated with ``UPDATE ... RETURNING`` (never a
    ``SELECT max()`` then insert), so concurrent batch creations get disjoint ranges.
    """

    __tablename__ = "deployment"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    visible_salt: Mapped[str] = mapped_column(String(64))
    next_serial: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


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


class Batch(Base):
    """A production run: a contiguous serial range ``[serial_start, serial_end)``."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("serial_end > serial_start", name="range"),
        CheckConstraint("quantity = serial_end - serial_start", name="quantity"),
        CheckConstraint("points >= 0", name="points"),
        CheckConstraint("status IN ('created', 'active', 'closed', 'void')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_start: Mapped[int] = mapped_column(BigInteger, unique=True)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    gtin: Mapped[str | None] = mapped_column(String(14))
    points: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    line: Mapped[str | None] = mapped_column(String(64))
    produced_on: Mapped[dt.date | None] = mapped_column(Date)
    redeem_from: Mapped[dt.date | None] = mapped_column(Date)
    redeem_until: Mapped[dt.date | None] = mapped_column(Date)
    payload_template: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="created")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    channel: Mapped[Channel | None] = relationship()

    def seq_of(self, serial: int) -> int:
        """The 1-based sequence number of a serial within this batch."""
        return serial - self.serial_start + 1
