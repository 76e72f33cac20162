"""Tables of the scan: redemptions, failed-attempt counters and clone alerts.

Per-code state is sparse: nothing here grows with the number of codes printed, only
with scans. No table holds a code or the text of a scan; redemptions and alerts keep
the serial of an authentic code and the outcome.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalcode.loyalty.models import LedgerEntry
from loyalcode.store.db import Base, reference
from loyalcode.store.timeutil import UtcDateTime


class Redemption(Base):
    """One redeemed code, by serial. The UNIQUE serial is the exactly-once guard.

    Holds the serial, never the code or the scanned text.
    """

    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[int] = mapped_column(BigInteger, unique=True)
    # No index on batch_id: a batch is a serial range, so the unique serial index
    # answers "redemptions of batch N" (serial >= start AND serial < end).
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    purchase_channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    points: Mapped[int] = mapped_column(Integer)
    scan_region: Mapped[str | None] = mapped_column(String(6))
    diversion: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The IP or device id the front end passed, as a keyed hash (the deployment key's
    #: F4) unless ``[redemption] keep_source``; erased with the member (``member forget``).
    source: Mapped[str | None] = mapped_column(String(128))
    redeemed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ScanFailure(Base):
    """Failed attempts of one identity (phone, openid or source) in a fixed window.

    ``value`` is the identity's keyed hash (``Keyring.identity_key``), never the phone,
    openid or source itself: someone who only ever failed leaves nothing readable.

    ``window_start`` is seconds since the epoch; the window restarts with the first
    failure after it ends. A row whose window has ended says nothing any more (the next
    failure would restart it), so it can be purged: the index on ``window_start`` finds
    those.
    """

    __tablename__ = "scan_failures"
    __table_args__ = (Index("ix_scan_failures_window_start", "window_start"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[float] = mapped_column(Float)


class CloneAlert(Base):
    """A redeemed code scanned again by another member: one row per serial, ever."""

    __tablename__ = "clone_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[int] = mapped_column(BigInteger, unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    attempted_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CodeQuery(Base):
    """How often the anti-counterfeit verdict (the landing page) was asked of one code,
    by serial: a code queried again and again, or first queried long after it was
    redeemed, is a clone signal for the channel team. Holds the serial, never the code.
    """

    __tablename__ = "code_queries"

    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    queries: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


# Keys from a lower package's tables to this one's (see loyalcode.store.db.reference).
reference(LedgerEntry.__table__, "redemption_serial", "redemptions.serial")  # type: ignore[arg-type]
