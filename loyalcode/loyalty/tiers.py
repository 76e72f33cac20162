"""Tiers (普卡 → 银卡 → 金卡 → 钻卡) over points earned in a rolling window.

A member's tier follows the points earned from scans (ledger kind ``earn``) in the
last ``loyalty.tier_window_days`` days, not the balance: spending points never costs
a tier. Upgrades happen as the points are earned (:class:`EarnHook`, called by the
redemption hot path: one query per scan); downgrades, when old earnings leave the
window, by :func:`evaluate` (``loyalcode tiers evaluate``, e.g. nightly). Every change,
up or down, writes a ``tier_changed`` event. A tier's multiplier scales the points a
scan credits.

Tier changes are compare-and-set (``UPDATE ... WHERE tier = :old``), so an earn-time
upgrade and a concurrent evaluation never both write an event for one change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, text

from loyalcode.errors import FutureDate
from loyalcode.events.outbox import EventRef
from loyalcode.loyalty.lock import lock_member, resolve_id
from loyalcode.loyalty.moments import emit_moment
from loyalcode.loyalty.settings import LoyaltySettings, Tier
from loyalcode.store.sql import render
from loyalcode.store.timeutil import UtcDateTime, sqlite_stamp

_TS = UtcDateTime()

_SET = text(
    "UPDATE member_tiers SET tier = :new, changed_at = :now WHERE member_id = :member AND tier = :old"
).bindparams(bindparam("now", type_=_TS))
_FIRST = text(
    "INSERT INTO member_tiers (member_id, tier, changed_at) VALUES (:member, :new, :now) "
    "ON CONFLICT (member_id) DO NOTHING"
).bindparams(bindparam("now", type_=_TS))


def window_start(now: dt.datetime, settings: LoyaltySettings) -> dt.datetime:
    """The start of the rolling window that ends at ``now``."""
    return now - dt.timedelta(days=settings.tier_window_days)


def change_tier(
    conn: Connection,
    member: int,
    stored: str | None,
    new: Tier,
    earned: int,
    settings: LoyaltySettings,
    now: dt.datetime,
) -> EventRef | None:
    """Move a member from the tier ``stored`` in ``member_tiers`` (``None``: no row) to
    ``new``; the ``tier_changed`` event, or ``None`` when someone else changed it first."""
    old = settings.tier_named(stored)
    if old.name == new.name:
        return None
    params = {"member": member, "new": new.name, "old": stored, "now": now}
    changed = conn.execute(_FIRST if stored is None else _SET, params).rowcount
    if not changed:
        return None
    return emit_moment(
        conn,
        "tier_changed",
        member,
        settings,
        now,
        previous_tier=old.name,
        direction="up" if settings.rank(new.name) > settings.rank(old.name) else "down",
        earned_in_window=earned,
        window_days=settings.tier_window_days,
        multiplier=new.multiplier,
    )


#: The points member ``{member}`` earned in the window starting ``:since`` (the fast
#: path puts a column there, the others ``:member``).
WINDOW_SUM = (
    "SELECT coalesce(sum(l.delta), 0) FROM ledger l WHERE l.member_id = {member} "
    "AND l.kind = 'earn' AND l.created_at >= :since"
)
_EARNED = text(WINDOW_SUM.format(member=":member")).bindparams(bindparam("since", type_=_TS))
_STORED = text("SELECT tier FROM member_tiers WHERE member_id = :member")
_EARNED_AND_STORED = text(
    f"SELECT ({WINDOW_SUM.format(member=':member')}), "
    "(SELECT tier FROM member_tiers WHERE member_id = :member)"
).bindparams(bindparam("since", type_=_TS))


@dataclass(frozen=True, slots=True)
class TierStatus:
    """A member's tier, what was earned in the window, and the next tier's distance."""

    member: int
    tier: str
    multiplier: float
    earned_in_window: int
    window_days: int
    next_tier: str | None
    points_to_next: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "tier": self.tier,
            "multiplier": self.multiplier,
            "earned_in_window": self.earned_in_window,
            "window_days": self.window_days,
            "next_tier": self.next_tier,
            "points_to_next": self.points_to_next,
        }


def tier_status(
    conn: Connection, member: int, settings: LoyaltySettings, now: dt.datetime
) -> TierStatus:
    """The member's stored tier and the points earned in the window ending ``now``."""
    member = resolve_id(conn, member)
    tier = settings.tier_named(conn.execute(_STORED, {"member": member}).scalar())
    earned = int(
        conn.execute(_EARNED, {"member": member, "since": window_start(now, settings)}).scalar_one()
    )
    higher = [t for t in settings.tiers if t.threshold > tier.threshold]
    nxt = higher[0] if higher else None
    return TierStatus(
        member=member,
        tier=tier.name,
        multiplier=tier.multiplier,
        earned_in_window=earned,
        window_days=settings.tier_window_days,
        next_tier=nxt.name if nxt else None,
        points_to_next=max(0, nxt.threshold - earned) if nxt else None,
    )


@dataclass(frozen=True, slots=True)
class TierChange:
    """One change made by :func:`evaluate`."""

    member: int
    previous: str
    tier: str
    earned_in_window: int
    event: EventRef

    def to_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "previous_tier": self.previous,
            "tier": self.tier,
            "earned_in_window": self.earned_in_window,
            "event": self.event.to_dict(),
        }


_CANDIDATES = text(
    "SELECT m.id, t.tier, coalesce(w.earned, 0) AS earned FROM members m "
    "LEFT JOIN member_tiers t ON t.member_id = m.id "
    "LEFT JOIN (SELECT member_id, sum(delta) AS earned FROM ledger "
    "           WHERE kind = 'earn' AND created_at >= :since GROUP BY member_id) w "
    "  ON w.member_id = m.id "
    "WHERE m.merged_into_id IS NULL AND (t.member_id IS NOT NULL OR w.member_id IS NOT NULL) "
    "ORDER BY m.id"
).bindparams(bindparam("since", type_=_TS))


def evaluate(
    conn: Connection, settings: LoyaltySettings, now: dt.datetime,
    *, as_of: dt.datetime | None = None,
) -> list[TierChange]:
    """Put every member in the tier their points earned in the window ending ``as_of``
    (default ``now``) reach, up or down; one ``tier_changed`` event per change, written
    at ``now``. Running it again changes nothing.

    ``as_of`` after ``now`` is refused (``future_date``): it would drop members whose
    points have not left the window yet. A dry run is this call in a transaction the
    caller rolls back (``loyalcode tiers evaluate --dry-run``)."""
    if as_of is not None and as_of > now:
        raise FutureDate(field="--as-of", value=as_of.isoformat(), today=now.isoformat(),
                         why="tiers are evaluated over points earned up to now at most.")
    changes: list[TierChange] = []
    since = window_start(as_of or now, settings)
    for row in conn.execute(_CANDIDATES, {"since": since}).all():
        if settings.tier_for(int(row.earned)).name == settings.tier_named(row.tier).name:
            continue
        # The member's row before its tier row, as scans and merges take them (a merge
        # holding the member's row would otherwise wait for the tier row this holds);
        # then the tier and window as they are now, a scan or a merge having committed
        # since the candidates were read.
        member = int(row.id)
        if lock_member(conn, member) != member:
            continue  # merged meanwhile: the merge set the survivor's tier
        earned, stored = conn.execute(_EARNED_AND_STORED, {"member": member, "since": since}).one()
        target, previous = settings.tier_for(int(earned)), settings.tier_named(stored)
        if target.name == previous.name:
            continue
        event = change_tier(conn, member, stored, target, int(earned), settings, now)
        if event is not None:
            changes.append(TierChange(member, previous.name, target.name, int(earned), event))
    return changes


# --- the earn path ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EarnState:
    """A member's tier as a scan finds it: ``stored`` is the ``member_tiers`` value
    (``None``: no row), ``earned_total`` the points ever earned from scans before this
    one (``members.earned_total``), an upper bound of what the window holds."""

    tier: Tier
    stored: str | None
    earned_total: int

    def credit(self, points: int) -> int:
        """Points a code worth ``points`` credits in this tier (the multiplier)."""
        return self.tier.apply(points)


class EarnHook:
    """Tier work of the redemption hot path: :meth:`before` (or the state query's
    :attr:`STATE_COLUMNS`) gives the tier, its multiplier and the member's lifetime
    earnings; :meth:`after` upgrades the member when the scan's points reach a higher
    tier. The window sum is read only when even the lifetime earnings would reach the
    next tier, so a common scan costs no read of the member's history. Built once per
    Redeemer; ``None`` from :meth:`build` when only one tier is configured (no work)."""

    _SQL = (
        "SELECT (SELECT tier FROM member_tiers WHERE member_id = :member) AS tier, "
        "(SELECT earned_total FROM members WHERE id = :member) AS earned_total"
    )

    def __init__(self, settings: LoyaltySettings, pg: bool) -> None:
        self.settings = settings
        self._pg = pg
        self._sql = render(self._SQL, pg)
        self._window = dt.timedelta(days=settings.tier_window_days)  # window_start(), built once
        self._named = {t.name: t for t in settings.tiers}  # tier_named(), as a lookup
        #: the lowest threshold above each tier (None: the top tier)
        self.next_threshold: dict[str, int | None] = {
            t.name: min((x.threshold for x in settings.tiers if x.threshold > t.threshold),
                        default=None)
            for t in settings.tiers
        }

    @classmethod
    def build(cls, config: Any, pg: bool) -> EarnHook | None:
        """The hook for a deployment's ``[loyalty]`` settings, or ``None``."""
        settings = LoyaltySettings.from_config(config)
        return cls(settings, pg) if settings.tiers_enabled else None

    #: The same facts for the member the scan's phone names (``pm``, joined by
    #: :data:`~loyalcode.redemption.sql.PHONE_MEMBER_JOIN`), as extra columns of the
    #: redemption's state query (one round trip fewer on the common path).
    STATE_COLUMNS = "mt.tier AS phone_tier, pm.earned_total AS phone_earned_total"
    STATE_JOIN = " LEFT JOIN member_tiers mt ON mt.member_id = pm.id"

    def since_param(self, when: dt.datetime) -> Any:
        """The ``:since`` parameter of :data:`WINDOW_SUM` for a scan at ``when``."""
        since = when - self._window
        return since if self._pg else sqlite_stamp(since)

    def prefetched(self, stored: str | None, earned_total: Any) -> EarnState:
        """The :class:`EarnState` from the state query's :attr:`STATE_COLUMNS`."""
        tier = self._named.get(stored) if stored is not None else None
        return EarnState(tier or self.settings.tiers[0], stored, int(earned_total or 0))

    def before(self, cur: Any, member: int, new_member: bool) -> EarnState:
        """The member's tier and lifetime earnings, on the hot path's DBAPI cursor."""
        if new_member:
            return EarnState(self.settings.tiers[0], None, 0)
        cur.execute(self._sql, {"member": member})
        stored, earned_total = cur.fetchone()
        return EarnState(self.settings.tier_named(stored), stored, int(earned_total or 0))

    def after(
        self, conn: Connection, member: int, state: EarnState, earned_total: int,
        when: dt.datetime,
    ) -> EventRef | None:
        """Upgrade the member if the window's earnings, this scan's points (already in
        the ledger: same transaction) included, reach a higher tier.

        ``earned_total`` is the member's lifetime earnings as this scan's UPDATE left
        them. That UPDATE locked the member's row, so scans of the member that committed
        while this one waited are in it and, read from here on, in the window sum and
        the stored tier; ``state`` (read before, from an older snapshot on PostgreSQL)
        would miss them, and two scans that reach a tier together would both stay below.
        """
        reach = self.next_threshold[state.tier.name]
        if reach is None or earned_total < reach:
            return None  # not even every point ever earned would reach the next tier
        since = when - self._window
        earned, stored = conn.execute(_EARNED_AND_STORED, {"member": member, "since": since}).one()
        current, target = self.settings.tier_named(stored), self.settings.tier_for(int(earned))
        if target.threshold <= current.threshold:
            return None
        return change_tier(conn, member, stored, target, int(earned), self.settings, when)
