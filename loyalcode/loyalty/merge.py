"""What a merge of two members does to their loyalty state.

Called by :func:`loyalcode.loyalty.members.merge` after the ledger, identities and
balance have moved to the survivor (``into``), in the same transaction:

* profile: the survivor's fields win, blanks are filled from the absorbed member's;
  the completion bonus flag is kept (a member whose merged self already had the bonus
  never gets it again). If both had been credited the bonus, the duplicate is reversed
  (ledger kind ``bonus_reversed``), as far as the balance allows, so one person holds
  one bonus;
* tier: the higher of the two tiers and the tier the merged window earnings reach;
* gift orders move; per-member gift claims add up; expiry notices move.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

from loyalcode.events.outbox import EventRef
from loyalcode.loyalty import points
from loyalcode.loyalty.moments import emit_moment
from loyalcode.loyalty.settings import PROFILE_FIELDS, LoyaltySettings
from loyalcode.loyalty.tiers import change_tier, tier_status
from loyalcode.store.config import Config

_PROFILE = text(
    "SELECT " + ", ".join(PROFILE_FIELDS) + ", completed_at, bonus_at FROM member_profiles "
    "WHERE member_id = :member"
)
_MOVE_PROFILE = text("UPDATE member_profiles SET member_id = :into WHERE member_id = :absorbed")
_FILL_PROFILE = text(
    "UPDATE member_profiles SET "
    + ", ".join(
        f"{f} = coalesce({f}, (SELECT a.{f} FROM member_profiles a WHERE a.member_id = :absorbed))"
        for f in (*PROFILE_FIELDS, "completed_at", "bonus_at")
    )
    + " WHERE member_id = :into"
)
_DROP_PROFILE = text("DELETE FROM member_profiles WHERE member_id = :absorbed")
_LAST_BONUS = text(
    "SELECT r.delta FROM ledger_refs r JOIN ledger l ON l.id = r.ledger_id "
    "WHERE l.member_id = :into AND r.kind = 'profile_bonus' ORDER BY r.ledger_id DESC"
)
_TIER = text("SELECT tier FROM member_tiers WHERE member_id = :member")
_DROP_TIER = text("DELETE FROM member_tiers WHERE member_id = :absorbed")
_MOVE_ORDERS = text("UPDATE gift_orders SET member_id = :into WHERE member_id = :absorbed")
_ADD_CLAIMS = text(
    "INSERT INTO gift_claims (gift_id, member_id, quantity) "
    "SELECT gift_id, :into, quantity FROM gift_claims WHERE member_id = :absorbed "
    "ON CONFLICT (gift_id, member_id) DO UPDATE SET quantity = gift_claims.quantity + excluded.quantity"
)
_DROP_CLAIMS = text("DELETE FROM gift_claims WHERE member_id = :absorbed")
_MOVE_NOTICES = text(
    "UPDATE expiry_notices SET member_id = :into WHERE member_id = :absorbed AND expires_on NOT IN "
    "(SELECT expires_on FROM expiry_notices WHERE member_id = :into)"
)
_DROP_NOTICES = text("DELETE FROM expiry_notices WHERE member_id = :absorbed")


def merge_loyalty(
    conn: Connection, absorbed: int, into: int, now: dt.datetime, config: Config | None = None
) -> list[EventRef]:
    """Fold the absorbed member's loyalty state into the survivor's; events raised."""
    from loyalcode.store.config import load_config

    url = conn.engine.url.render_as_string(hide_password=False)
    settings = LoyaltySettings.from_config(config or load_config(url))
    ids = {"absorbed": absorbed, "into": into}
    raised: list[EventRef] = []

    mine = conn.execute(_PROFILE, {"member": into}).first()
    theirs = conn.execute(_PROFILE, {"member": absorbed}).first()
    if theirs is not None and mine is None:
        conn.execute(_MOVE_PROFILE, ids)
    elif theirs is not None and mine is not None:
        conn.execute(_FILL_PROFILE, ids)
        conn.execute(_DROP_PROFILE, ids)
        if mine.bonus_at is not None and theirs.bonus_at is not None:
            raised.extend(_reverse_duplicate_bonus(conn, into, absorbed, settings, now))

    stored = conn.execute(_TIER, {"member": into}).scalar()
    other = conn.execute(_TIER, {"member": absorbed}).scalar()
    conn.execute(_DROP_TIER, ids)
    status = tier_status(conn, into, settings, now)
    candidates = [settings.tier_named(stored), settings.tier_named(other),
                  settings.tier_for(status.earned_in_window)]
    best = max(candidates, key=lambda t: t.threshold)
    event = change_tier(conn, into, stored, best, status.earned_in_window, settings, now)
    if event is not None:
        raised.append(event)

    conn.execute(_MOVE_ORDERS, ids)
    conn.execute(_ADD_CLAIMS, ids)
    conn.execute(_DROP_CLAIMS, ids)
    conn.execute(_MOVE_NOTICES, ids)
    conn.execute(_DROP_NOTICES, ids)
    return raised


def _reverse_duplicate_bonus(
    conn: Connection, into: int, absorbed: int, settings: LoyaltySettings, now: dt.datetime
) -> list[EventRef]:
    bonus = conn.execute(_LAST_BONUS, {"into": into}).scalars().first()
    amount = min(int(bonus or 0), points.balance_of(conn, into))
    if amount <= 0:
        return []
    if points.take_balance(conn, into, amount) is None:  # pragma: no cover - row is locked
        return []
    points.append(
        conn, into, -amount, "bonus_reversed",
        f"profile bonus credited twice (member {absorbed} merged in): duplicate reversed", now,
    )
    return [emit_moment(conn, "profile_bonus_reversed", into, settings, now,
                        points=amount, merged_from=absorbed)]
