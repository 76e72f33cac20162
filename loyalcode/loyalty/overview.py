"""A member at a glance, as the member centre shows it (``member profile --json``, the
HTTP ``GET /v1/members/{id}``): phone, balance, tier, profile, identities, and the
points lots still to spend with their expiry dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from loyalcode.loyalty import points
from loyalcode.loyalty.members import MemberInfo, member_info
from loyalcode.loyalty.profile import Profile, profile_of
from loyalcode.loyalty.settings import LoyaltySettings
from loyalcode.loyalty.tiers import TierStatus, tier_status


@dataclass(frozen=True, slots=True)
class MemberOverview:
    """:class:`MemberInfo`, the tier, the profile and the unspent lots."""

    member: MemberInfo
    tier: TierStatus
    profile: Profile
    lots: tuple[points.Lot, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.member.to_dict(), "tier": self.tier.to_dict(),
                "profile": self.profile.to_dict(), "lots": [lot.to_dict() for lot in self.lots]}


def member_overview(conn: Connection, member_id: int, settings: LoyaltySettings,
                    tz: dt.tzinfo, now: dt.datetime) -> MemberOverview:
    """The member (merges followed) as the member centre shows it; ``tz`` is the
    business time zone the lots' expiry dates are days in. :class:`MemberNotFound`."""
    info = member_info(conn, member_id)
    lots = tuple(lot for lot in points.lots(conn, info.id, expiry_months=settings.expiry_months,
                                            tz=tz) if lot.remaining)
    return MemberOverview(member=info, tier=tier_status(conn, info.id, settings, now),
                          profile=profile_of(conn, info.id, settings), lots=lots)
