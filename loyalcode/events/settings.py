"""Settings of the outbox from the ``[events]`` table of ``loyalcode.toml``.

Event payloads name the member by id. Its phone is personal data the CRM can read when
it needs it (``loyalcode member show --id ID``, or
:func:`loyalcode.loyalty.members.member_info`), so a payload carries it only when the
deployment asks for it::

    [events]
    include_phone = true        # default false

>>> EventSettings()
EventSettings(include_phone=False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loyalcode.errors import ConfigError
from loyalcode.store.config import Config


@dataclass(frozen=True, slots=True)
class EventSettings:
    """What event payloads carry."""

    #: Whether payloads about a member carry its phone (``phone``) beside its id.
    include_phone: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.include_phone, bool):
            raise ConfigError(detail="events.include_phone must be true or false")

    @classmethod
    def from_config(cls, config: Config) -> EventSettings:
        """The settings in ``[events]``; defaults for what is missing."""
        section: dict[str, Any] = config.section("events")
        unknown = set(section) - {"include_phone"}
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [events]: {', '.join(sorted(unknown))}")
        return cls(**section)
