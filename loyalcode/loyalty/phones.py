"""Member phones: what is accepted, normalised to E.164 by libphonenumber.

A member's phone is the number the CRM sends one-time codes to, so by default only
mobile numbers of mainland China are members' phones. ``[members]`` in
``loyalcode.toml`` widens that::

    [members]
    phone_types = ["mobile"]        # libphonenumber number types allowed
    phone_regions = ["CN"]          # countries (ISO 3166 codes); the first is the default
                                    # for numbers written without a country code

Refused with ``invalid_phone`` (the message never repeats the number): letters (a
keypad would read ``138OO138OOO`` as digits and credit a stranger's number, so no
letter is ever read as a digit), an extension (``13800138000#12``, ``x12``), and
anything libphonenumber does not call a valid number of an allowed type in an allowed
country: landlines, 400/800 service numbers, foreign numbers by default.

>>> normalize_phone("138 0013 8000"), normalize_phone("+86 138-0013-8000")
('+8613800138000', '+8613800138000')
>>> normalize_phone("138OO138OOO")
Traceback (most recent call last):
...
loyalcode.loyalty.errors.InvalidPhone: Not a valid phone number: letters are not accepted.
>>> normalize_phone("+1 650 253 0000", PhonePolicy(regions=("CN", "US")))
'+16502530000'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from loyalcode.errors import ConfigError
from loyalcode.loyalty.errors import InvalidPhone
from loyalcode.store.config import Config

MAX_PHONE_INPUT = 40

#: The names ``phone_types`` takes, and the libphonenumber types each admits. A number
#: libphonenumber cannot tell apart (``FIXED_LINE_OR_MOBILE``: the US, Canada, ...) is
#: admitted by either of its two types.
PHONE_TYPES: dict[str, frozenset[int]] = {
    "mobile": frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}),
    "fixed_line": frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}),
    "toll_free": frozenset({PhoneNumberType.TOLL_FREE}),
    "premium_rate": frozenset({PhoneNumberType.PREMIUM_RATE}),
    "shared_cost": frozenset({PhoneNumberType.SHARED_COST}),
    "voip": frozenset({PhoneNumberType.VOIP}),
    "personal_number": frozenset({PhoneNumberType.PERSONAL_NUMBER}),
    "pager": frozenset({PhoneNumberType.PAGER}),
    "uan": frozenset({PhoneNumberType.UAN}),
    "voicemail": frozenset({PhoneNumberType.VOICEMAIL}),
}


@dataclass(frozen=True, slots=True)
class PhonePolicy:
    """Which numbers are members' phones: ``types`` (names of :data:`PHONE_TYPES`) in
    ``regions`` (ISO 3166 codes; the first is the default country)."""

    types: tuple[str, ...] = ("mobile",)
    regions: tuple[str, ...] = ("CN",)

    def __post_init__(self) -> None:
        if not self.types or any(t not in PHONE_TYPES for t in self.types):
            raise ConfigError(
                detail=f"members.phone_types must name some of {', '.join(PHONE_TYPES)}"
            )
        supported = phonenumbers.SUPPORTED_REGIONS
        if not self.regions or any(r not in supported for r in self.regions):
            raise ConfigError(
                detail="members.phone_regions must be ISO 3166 country codes such as \"CN\""
            )

    @classmethod
    def from_config(cls, config: Config) -> PhonePolicy:
        """The policy in ``[members]``; the defaults for what is missing."""
        section: dict[str, Any] = config.section("members")
        unknown = set(section) - {"phone_types", "phone_regions"}
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [members]: {', '.join(sorted(unknown))}")
        values: dict[str, tuple[str, ...]] = {}
        for key, name in (("phone_types", "types"), ("phone_regions", "regions")):
            if key in section:
                raw = section[key]
                if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
                    raise ConfigError(detail=f"members.{key} must be a list of strings")
                values[name] = tuple(v.strip() for v in raw)
        if "regions" in values:
            values["regions"] = tuple(r.upper() for r in values["regions"])
        return cls(**values)


DEFAULT_POLICY = PhonePolicy()


def normalize_phone(value: str, policy: PhonePolicy = DEFAULT_POLICY) -> str:
    """A member's phone in E.164 under ``policy`` (mainland China mobiles by default),
    or :class:`InvalidPhone`. Cached: the redemption hot path calls it per scan."""
    return _normalize(value, policy)


@lru_cache(maxsize=65536)
def _normalize(value: str, policy: PhonePolicy) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PHONE_INPUT:
        raise InvalidPhone(reason="not a phone number")
    if any(ch.isalpha() for ch in value):
        # libphonenumber reads letters as keypad digits (O is 6): never for a member id
        raise InvalidPhone(reason="letters are not accepted")
    try:
        number = phonenumbers.parse(value, policy.regions[0])
    except phonenumbers.NumberParseException:
        raise InvalidPhone(reason="not a phone number") from None
    if number.extension:
        raise InvalidPhone(reason="extensions are not accepted")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(reason="not a valid number")
    if phonenumbers.region_code_for_number(number) not in policy.regions:
        raise InvalidPhone(reason=f"not a number of {', '.join(policy.regions)}")
    kind = phonenumbers.number_type(number)
    if not any(kind in PHONE_TYPES[t] for t in policy.types):
        raise InvalidPhone(reason=f"not a {' or '.join(t.replace('_', ' ') for t in policy.types)} number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
