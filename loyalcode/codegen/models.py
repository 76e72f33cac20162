"""Tables of the hidden code: batches (the deployment row is :mod:`loyalcode.store.models`).

No table holds a code or anything a code can be computed from without the key: a
batch is a serial range, and codes are derived from the key on export or print.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalcode.store.db import Base
from loyalcode.store.timeutil import UtcDateTime, now_utc

BATCH_STATUSES = ("created", "active", "closed", "void")


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
    # The default channel: a row of :mod:`loyalcode.channels`, which declares the key.
    channel_id: Mapped[int | None] = mapped_column(Integer)
    line: Mapped[str | None] = mapped_column(String(64))
    produced_on: Mapped[dt.date | None] = mapped_column(Date)
    redeem_from: Mapped[dt.date | None] = mapped_column(Date)
    redeem_until: Mapped[dt.date | None] = mapped_column(Date)
    payload_template: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="created")
    created_at: Mapped[dt.datetime] = mapped_column(
        UtcDateTime(), default=now_utc, server_default=func.now()
    )
    voided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # When codes of the batch first left the key: exported or printed. From then on
    # the payload template is frozen (labels carry it).
    issued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    def seq_of(self, serial: int) -> int:
        """The 1-based sequence number of a serial within this batch."""
        return serial - self.serial_start + 1
