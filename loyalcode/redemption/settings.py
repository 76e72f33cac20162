"""Settings of redemption from the ``[redemption]`` table of ``loyalcode.toml``.

>>> RedemptionSettings()
RedemptionSettings(throttle_failures=10, throttle_window_seconds=600, timezone='Asia/Shanghai', keep_source=False)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from loyalcode.errors import ConfigError
from loyalcode.store.config import Config
from loyalcode.store.timeutil import DEFAULT_BUSINESS_ZONE, zone_named


@dataclass(frozen=True, slots=True)
class RedemptionSettings:
    """Throttle limits, the time zone that redemption windows (dates) are read in, and
    whether a redemption keeps its source in clear."""

    #: Failed attempts allowed per identity per window (``throttle.py`` says which count).
    throttle_failures: int = 10
    #: Length of the fixed window, from the first failure, in seconds.
    throttle_window_seconds: int = 600
    #: The business time zone of the whole deployment (the one setting): a batch's
    #: ``redeem_from``/``redeem_until``, gift windows, expiry and reports by day are
    #: days in this zone (:func:`loyalcode.store.timeutil.business_zone`).
    timezone: str = DEFAULT_BUSINESS_ZONE
    #: A redemption's ``source`` (an IP or device id) is stored as a keyed hash, which
    #: tells whether two scans came from the same source and nothing else; ``true``
    #: keeps it in clear.
    keep_source: bool = False

    def __post_init__(self) -> None:
        for name in ("throttle_failures", "throttle_window_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(detail=f"redemption.{name} must be a whole number >= 1")
        if not isinstance(self.keep_source, bool):
            raise ConfigError(detail="redemption.keep_source must be true or false")
        if not isinstance(self.timezone, str):
            raise ConfigError(detail="redemption.timezone must be a time zone name")
        self.tzinfo()

    @classmethod
    def from_config(cls, config: Config) -> RedemptionSettings:
        """The settings in ``[redemption]``; defaults for what is missing."""
        section: dict[str, Any] = config.section("redemption")
        known = {"throttle_failures", "throttle_window_seconds", "timezone", "keep_source"}
        unknown = set(section) - known
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [redemption]: {', '.join(sorted(unknown))}")
        return cls(**section)

    def tzinfo(self) -> dt.tzinfo:
        """The business time zone (:func:`loyalcode.store.timeutil.business_zone`)."""
        return zone_named(self.timezone)
