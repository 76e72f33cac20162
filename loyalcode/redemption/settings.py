"""Settings of redemption from the ``[redemption]`` table of ``loyalcode.toml``.

>>> RedemptionSettings()
RedemptionSettings(throttle_failures=10, throttle_window_seconds=600, timezone='Asia/Shanghai')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from loyalcode.errors import ConfigError
from loyalcode.store.config import Config

_CHINA = dt.timezone(dt.timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class RedemptionSettings:
    """Throttle limits and the time zone that redemption windows (dates) are read in."""

    #: Failed attempts allowed per identity per window (``throttle.py`` says which count).
    throttle_failures: int = 10
    #: Length of the fixed window, from the first failure, in seconds.
    throttle_window_seconds: int = 600
    #: A batch's ``redeem_from``/``redeem_until`` dates are days in this zone.
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        for name in ("throttle_failures", "throttle_window_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(detail=f"redemption.{name} must be a whole number >= 1")
        if not isinstance(self.timezone, str):
            raise ConfigError(detail="redemption.timezone must be a time zone name")
        self.tzinfo()

    @classmethod
    def from_config(cls, config: Config) -> RedemptionSettings:
        """The settings in ``[redemption]``; defaults for what is missing."""
        section: dict[str, Any] = config.section("redemption")
        known = {"throttle_failures", "throttle_window_seconds", "timezone"}
        unknown = set(section) - known
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [redemption]: {', '.join(sorted(unknown))}")
        return cls(**section)

    def tzinfo(self) -> dt.tzinfo:
        """The zone of redemption windows (UTC+8 when the zone database is missing)."""
        try:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                return ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                if self.timezone == "Asia/Shanghai":
                    return _CHINA
                raise ConfigError(detail=f"unknown time zone {self.timezone!r}") from None
        except ImportError:  # pragma: no cover
            return _CHINA
