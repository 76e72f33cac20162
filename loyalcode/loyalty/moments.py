"""Moments of truth: the events the CRM turns into template messages.

Every loyalty event carries what a message needs without another lookup: the
``member`` id, the ``points`` moved, the ``balance`` after, the member's ``tier``, and
the ``gift`` when there is one; its ``phone`` too when ``[events] include_phone``. :func:`emit_moment` builds
that payload from the member's row in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, text

from loyalcode.events.outbox import EventRef, emit
from loyalcode.loyalty.settings import LoyaltySettings

_FACTS = text(
    "SELECT m.phone, m.balance, t.tier FROM members m "
    "LEFT JOIN member_tiers t ON t.member_id = m.id WHERE m.id = :member"
)


def member_facts(conn: Connection, member: int, settings: LoyaltySettings) -> dict[str, Any]:
    """``{"member", "balance", "tier"}`` as they are now in this transaction, and
    ``"phone"`` (second) when payloads carry it."""
    row = conn.execute(_FACTS, {"member": member}).one()
    facts: dict[str, Any] = {"member": member}
    if settings.events.include_phone:
        facts["phone"] = row.phone
    facts["balance"] = int(row.balance)
    facts["tier"] = settings.tier_named(row.tier).name
    return facts


def emit_moment(
    conn: Connection,
    type_: str,
    member: int,
    settings: LoyaltySettings,
    now: dt.datetime,
    **facts: Any,
) -> EventRef:
    """Write an event whose payload is the member's facts plus ``facts``."""
    payload = member_facts(conn, member, settings)
    payload.update(facts)
    return emit(conn, type_, member, payload, now)
