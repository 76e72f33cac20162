"""Tables of redemption: activations and the spans they leave, members, identities, redemptions, the points
ledger, the events outbox, failed-attempt counters and clone alerts.

Per-code state is sparse: nothing here grows with the number of codes printed, only
with scans. No table holds a code or the text of a scan; redemptions, alerts and
events keep the serial of an authentic code and the outcome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalcode.codegen.db import Base

IDENTITY_KINDS = ("openid", "unionid", "shop")
EVENT_TYPES = (
    "member_joined",
    "points_earned",
    "phone_bound",
    "members_merged",
    "clone_alert",
    "diversion_alert",
)
#: Kinds of ledger entries; the loyalty programme adds its own (gift, expiry, ...).
LEDGER_KINDS = ("earn",)


class Activation(Base):
    """A shipped serial range ``[serial_start, serial_end)`` of a batch bound to a channel.

    Rows are never updated or deleted: a re-activation adds a row, and the newest row
    (highest id) covering a serial is the one that counts, so the history is kept.
    """

    __tablename__ = "activations"
    __table_args__ = (
        CheckConstraint("serial_end > serial_start", name="range"),
        Index("ix_activations_batch_id_serial_start", "batch_id", "serial_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    serial_start: Mapped[int] = mapped_column(BigInteger)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ActivationSpan(Base):
    """The activation map as it stands: disjoint serial ranges ``[serial_start,
    serial_end)``, each with the channel of the newest activation covering it.

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


class Member(Base):
    """A consumer. ``phone`` (E.164) is the unique id across channels.

    ``balance`` always equals the sum of the member's ledger entries; it is kept on the
    row so that a redemption reads and updates one row. ``earned_total`` likewise
    equals the sum of its ``earn`` entries (points ever earned from scans): an upper
    bound of the points earned in any tier window, so a scan that cannot reach the next
    tier even with all of them needs no window sum. A member absorbed by a merge keeps
    its row (``merged_into_id`` set, no phone, balance and earned_total 0) so
    references to it can be followed.
    """

    __tablename__ = "members"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    earned_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class MemberIdentity(Base):
    """An external id of a member: a WeChat openid or unionid, a shop's member id."""

    __tablename__ = "member_identities"
    __table_args__ = (
        UniqueConstraint("kind", "value", name="uq_member_identities_kind_value"),
        CheckConstraint("kind IN ('openid', 'unionid', 'shop')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


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
    source: Mapped[str | None] = mapped_column(String(128))
    redeemed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    """One movement of points. Append-only: amounts and reasons never change.

    ``kind`` says what moved the points and the reference column says which thing:
    ``earn`` entries name the redemption's serial. (A merge re-points entries to the
    surviving member; it never edits or deletes one.)
    """

    __tablename__ = "ledger"
    # A member's entries (history, merges, expiry) by the leading column; the tier
    # window sum on every scan (kind 'earn' since a date, summing delta) is an
    # index-only range, with no table row read per entry.
    __table_args__ = (Index("ix_ledger_member_kind_created", "member_id", "kind", "created_at", "delta"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    delta: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(200))
    redemption_serial: Mapped[int | None] = mapped_column(ForeignKey("redemptions.serial"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Event(Base):
    """The outbox the CRM reads: written in the same transaction as its cause.

    Readers page by id (``id > last seen``), which the primary key serves. Rows are
    immutable but for ``acknowledged_at``: a merge leaves the absorbed member's events
    as they were written (the ``members_merged`` event says who was joined to whom).
    So there is deliberately no index on ``member_id`` nor on ``acknowledged_at``: each
    would cost every redemption's commit a page of its own.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ScanFailure(Base):
    """Failed attempts of one identity (phone, openid or source) in a fixed window.

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
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
