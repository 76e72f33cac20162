"""Settings of the loyalty programme from the ``[loyalty]`` table of ``loyalcode.toml``.

Defaults (every key optional)::

    [loyalty]
    profile_fields = ["name", "gender", "birthday", "city"]   # what "complete" means
    profile_bonus = 100                 # points, credited once when first complete
    expiry_months = 12                  # points expire this long after they were earned (0: never)
    expiring_notice_days = 30           # points_expiring this many days before
    tier_window_days = 365              # tiers count points earned in this rolling window
    tiers = [                           # ascending thresholds; the first must be 0
      {name = "普卡", threshold = 0, multiplier = 1.0},
      {name = "银卡", threshold = 1000, multiplier = 1.0},
      {name = "金卡", threshold = 5000, multiplier = 1.0},
      {name = "钻卡", threshold = 20000, multiplier = 1.0},
    ]

>>> s = LoyaltySettings()
>>> s.tier_for(999).name, s.tier_for(1000).name, s.tier_for(10**9).name
('普卡', '银卡', '钻卡')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from loyalcode.errors import ConfigError
from loyalcode.events.settings import EventSettings
from loyalcode.store.config import Config

PROFILE_FIELDS = ("name", "gender", "birthday", "city", "email")


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier: reached when points earned in the window reach ``threshold``;
    earning in it credits ``floor(points * multiplier)``."""

    name: str
    threshold: int
    multiplier: float = 1.0

    def apply(self, points: int) -> int:
        """Points credited for a code worth ``points`` in this tier."""
        if self.multiplier == 1.0:
            return points
        return math.floor(points * self.multiplier + 1e-9)


DEFAULT_TIERS = (
    Tier("普卡", 0),
    Tier("银卡", 1000),
    Tier("金卡", 5000),
    Tier("钻卡", 20000),
)


def _whole(name: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(detail=f"loyalty.{name} must be a whole number >= {minimum}")
    return value


@dataclass(frozen=True, slots=True)
class LoyaltySettings:
    """Profile completeness, bonus, expiry, notice and tier settings."""

    profile_fields: tuple[str, ...] = ("name", "gender", "birthday", "city")
    profile_bonus: int = 100
    expiry_months: int = 12
    expiring_notice_days: int = 30
    tier_window_days: int = 365
    tiers: tuple[Tier, ...] = field(default=DEFAULT_TIERS)
    #: What event payloads carry (``[events]``): the moments name the member's phone
    #: only when ``include_phone``.
    events: EventSettings = field(default=EventSettings())

    def __post_init__(self) -> None:
        unknown = [f for f in self.profile_fields if f not in PROFILE_FIELDS]
        if unknown or not self.profile_fields:
            raise ConfigError(
                detail=f"loyalty.profile_fields must name some of {', '.join(PROFILE_FIELDS)}"
            )
        _whole("profile_bonus", self.profile_bonus)
        _whole("expiry_months", self.expiry_months)
        _whole("expiring_notice_days", self.expiring_notice_days)
        _whole("tier_window_days", self.tier_window_days, 1)
        if not self.tiers or self.tiers[0].threshold != 0:
            raise ConfigError(detail="loyalty.tiers must start with a tier of threshold 0")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names) or any(not n or len(n) > 32 for n in names):
            raise ConfigError(detail="loyalty.tiers need distinct names of 1 to 32 characters")
        thresholds = [t.threshold for t in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ConfigError(detail="loyalty.tiers thresholds must be strictly ascending")
        for t in self.tiers:
            _whole("tiers.threshold", t.threshold)
            if not isinstance(t.multiplier, (int, float)) or not 0 < t.multiplier <= 100:
                raise ConfigError(detail="loyalty.tiers multiplier must be a number in (0, 100]")

    @classmethod
    def from_config(cls, config: Config) -> LoyaltySettings:
        """The settings in ``[loyalty]``; defaults for what is missing."""
        section: dict[str, Any] = dict(config.section("loyalty"))
        known = {
            "profile_fields", "profile_bonus", "expiry_months", "expiring_notice_days",
            "tier_window_days", "tiers",
        }
        unknown = set(section) - known
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [loyalty]: {', '.join(sorted(unknown))}")
        if "profile_fields" in section:
            fields = section["profile_fields"]
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                raise ConfigError(detail="loyalty.profile_fields must be a list of names")
            section["profile_fields"] = tuple(fields)
        if "tiers" in section:
            raw = section["tiers"]
            if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
                raise ConfigError(detail="loyalty.tiers must be a list of tables")
            try:
                section["tiers"] = tuple(
                    Tier(str(t["name"]), t["threshold"], float(t.get("multiplier", 1.0)))
                    for t in raw
                )
            except (KeyError, TypeError, ValueError):
                raise ConfigError(
                    detail="each of loyalty.tiers needs a name, a threshold and maybe a multiplier"
                ) from None
        return cls(**section, events=EventSettings.from_config(config))

    def tier_for(self, earned: int) -> Tier:
        """The highest tier whose threshold ``earned`` reaches."""
        found = self.tiers[0]
        for tier in self.tiers:
            if earned >= tier.threshold:
                found = tier
        return found

    def tier_named(self, name: str | None) -> Tier:
        """The tier called ``name`` (the lowest for ``None`` or a name no longer configured)."""
        for tier in self.tiers:
            if tier.name == name:
                return tier
        return self.tiers[0]

    @property
    def tiers_enabled(self) -> bool:
        """Whether there is more than one tier (else the earn path skips tier work)."""
        return len(self.tiers) > 1

    def rank(self, name: str) -> int:
        """Position of a tier (0 = lowest)."""
        return [t.name for t in self.tiers].index(self.tier_named(name).name)
