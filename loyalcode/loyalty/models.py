"""Tables of the loyalty programme: members and their external ids, the points ledger,
profiles, tiers, the gift mall, ledger references and expiry notices.

The scan (:mod:`loyalcode.redemption`) writes ``earn`` entries to the ledger in its own
statement; the programme writes its own kinds there (``profile_bonus``, ``gift``,
``gift_refund``, ``expire``, ``bonus_reversed``) and says which order or lot an entry
is about in ``ledger_refs``, so the ledger table the hot path writes keeps its shape.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalcode.events.models import Event
from loyalcode.store.db import Base, reference
from loyalcode.store.timeutil import UtcDateTime

#: Ledger kinds the loyalty programme writes (the redemption hot path writes ``earn``).
LOYALTY_LEDGER_KINDS = ("profile_bonus", "bonus_reversed", "gift", "gift_refund", "expire")
#: Event types the loyalty programme writes to the outbox.
LOYALTY_EVENT_TYPES = (
    "profile_completed",
    "gift_redeemed",
    "gift_cancelled",
    "tier_changed",
    "points_expiring",
    "points_expired",
    "profile_bonus_reversed",
)
GENDERS = ("female", "male", "other")
ORDER_STATUSES = ("placed", "cancelled")


class MemberProfile(Base):
    """A member's profile. ``bonus_at`` is set once, by a conditional UPDATE, when the
    completion bonus is credited: it is the guard that makes the bonus a one-off."""

    __tablename__ = "member_profiles"
    __table_args__ = (CheckConstraint("gender IN ('female', 'male', 'other')", name="gender"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(8))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    bonus_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class MemberTier(Base):
    """A member's current tier (no row: the lowest tier)."""

    __tablename__ = "member_tiers"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Gift(Base):
    """A gift of the points mall. ``stock`` never goes below zero: orders take it with
    ``UPDATE ... SET stock = stock - n WHERE stock >= n`` (and the CHECK backs it)."""

    __tablename__ = "gifts"
    __table_args__ = (
        CheckConstraint("points > 0", name="points"),
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("per_member_limit IS NULL OR per_member_limit > 0", name="limit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    per_member_limit: Mapped[int | None] = mapped_column(Integer)
    active_from: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    active_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class GiftOrder(Base):
    """One redemption of a gift by a member: ``placed``, or ``cancelled`` (refunded)."""

    __tablename__ = "gift_orders"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("status IN ('placed', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gift_id: Mapped[int] = mapped_column(ForeignKey("gifts.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class GiftClaim(Base):
    """Units of a gift a member holds in placed orders: the per-member limit's guard
    (a conditional upsert, ``... WHERE quantity + n <= limit``)."""

    __tablename__ = "gift_claims"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity"),)

    gift_id: Mapped[int] = mapped_column(ForeignKey("gifts.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


class LedgerRef(Base):
    """Every ledger entry the loyalty programme writes, with what it is about: the gift
    order it debits or refunds, or the lot (the earning entry) whose remaining points
    an ``expire`` entry removes."""

    __tablename__ = "ledger_refs"

    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledger.id"), primary_key=True)
    #: The entry's kind again, so reports sum the loyalty kinds from this small table
    #: without an index on (or a scan of) the big ledger the hot path appends to.
    kind: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    order_id: Mapped[int | None] = mapped_column(ForeignKey("gift_orders.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("ledger.id"))


class ExpiryNotice(Base):
    """One ``points_expiring`` notice per member and expiry date: the primary key makes
    a second run of ``points expire`` send none again."""

    __tablename__ = "expiry_notices"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    expires_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


IDENTITY_KINDS = ("openid", "unionid", "shop")


#: Kinds of ledger entries; the loyalty programme adds its own (gift, expiry, ...).
LEDGER_KINDS = ("earn",)


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
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


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
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


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
    # A redemption of :mod:`loyalcode.redemption`, which declares the key.
    redemption_serial: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


# Keys from a lower package's tables to this one's (see loyalcode.store.db.reference).
reference(Event.__table__, "member_id", "members.id")  # type: ignore[arg-type]


# --- the consumer pages: sessions, consent, phone verification by SMS code ---------------


class PageSession(Base):
    """A consumer's session on the pages: the cookie holds a random token, the row its
    SHA-256 (a database read gives no cookie). Consent is recorded on it before a phone
    is asked for; ``member_id`` is set once a phone was proven by an SMS code."""

    __tablename__ = "page_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    consent_version: Mapped[str | None] = mapped_column(String(40))
    consented_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class MemberConsent(Base):
    """The privacy notice a member agreed to: its version and when."""

    __tablename__ = "member_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    version: Mapped[str] = mapped_column(String(40))
    consented_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class PhoneChallenge(Base):
    """One SMS one-time code sent: the code only as a salted SHA-256, the phone (needed
    to bind it when the code is right), the attempts made, a hash of the client address
    (the resend limit per address)."""

    __tablename__ = "phone_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    address_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
