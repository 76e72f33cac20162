"""Every outcome of a refused scan, each with a stable ``code``: the one module a CRM
imports to switch on them.

``malformed``, ``typo`` and ``forged`` come from the codec (no database involved);
``invalid_phone``, ``phone_required``, ``phone_unverified`` and ``identity_in_use``
from the member rules of :mod:`loyalcode.loyalty`; the rest are decided against the database by the scan. All
are re-exported here. Messages come from fixed templates: none holds
the scanned text, a code, or a phone number.
"""

from __future__ import annotations

from typing import Any

from loyalcode.codegen.errors import CodeTypo, ForgedCode, MalformedCode
from loyalcode.errors import LoyalcodeError, RedemptionError
from loyalcode.loyalty.errors import IdentityInUse, InvalidPhone, PhoneRequired, PhoneUnverified


class UnknownCode(RedemptionError):
    """Well formed and authentic, but its serial is in no batch."""

    code = "unknown"
    template = "This code is not known."


class NotActivated(RedemptionError):
    code = "not_activated"
    template = "This code has not been activated for sale yet."


class BatchVoidScan(RedemptionError):
    """The code's batch was voided (same code as the codegen ``BatchVoid``)."""

    code = "batch_void"
    template = "This code belongs to a batch that has been withdrawn."


class NotYetValid(RedemptionError):
    code = "not_yet_valid"
    template = "This code can be redeemed from {redeem_from}."


class Expired(RedemptionError):
    code = "expired"
    template = "This code could be redeemed until {redeem_until}."


class AlreadyRedeemed(RedemptionError):
    """A redeemed code scanned again; ``same_member`` tells a repeat from a clone."""

    code = "already_redeemed"

    def __init__(self, *, same_member: bool) -> None:
        message = (
            "You have already redeemed this code."
            if same_member
            else "This code has already been redeemed by another member."
        )
        super().__init__(message, same_member=same_member)
        self.same_member = same_member


class IdentityRequired(RedemptionError):
    """A scan that names no phone, openid or source: no one to credit, and no throttle
    bucket to count it in, so it is refused before the code is looked at."""

    code = "identity_required"
    template = "Name the scanner: a phone, an openid or a source (an IP or device id)."


class Throttled(RedemptionError):
    code = "throttled"
    template = "Too many failed attempts: try again in {retry_after} seconds."

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after


def error_codes() -> dict[str, type[LoyalcodeError]]:
    """Every scan outcome's stable code and its class (for docs and tests)."""
    classes: list[Any] = [
        MalformedCode,
        CodeTypo,
        ForgedCode,
        UnknownCode,
        NotActivated,
        BatchVoidScan,
        NotYetValid,
        Expired,
        AlreadyRedeemed,
        PhoneRequired,
        Throttled,
        InvalidPhone,
        IdentityRequired,
        IdentityInUse,
        PhoneUnverified,
    ]
    return {c.code: c for c in classes}


__all__ = [
    "AlreadyRedeemed",
    "BatchVoidScan",
    "CodeTypo",
    "Expired",
    "ForgedCode",
    "IdentityInUse",
    "IdentityRequired",
    "InvalidPhone",
    "LoyalcodeError",
    "MalformedCode",
    "NotActivated",
    "NotYetValid",
    "PhoneRequired",
    "PhoneUnverified",
    "RedemptionError",
    "Throttled",
    "UnknownCode",
    "error_codes",
]
