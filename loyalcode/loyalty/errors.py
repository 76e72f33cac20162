"""Refusals of the loyalty programme, each with a stable ``code``.

Members and their identities are refused here too (``invalid_phone``,
``invalid_identity``, ``member_not_found``), and ``phone_required``: a member must bind
a phone to earn and to spend, so the scan (``loyalcode.redemption``) raises it as well.
"""

from __future__ import annotations

from typing import Any

from loyalcode.errors import InvalidInput, LoyalcodeError, RedemptionError


class LoyaltyError(LoyalcodeError):
    """Base of every refusal of the loyalty programme."""

    code = "loyalty_error"


class ProfileIncomplete(LoyaltyError):
    code = "profile_incomplete"
    template = "Complete your profile first (missing: {missing})."


class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"
    template = "Not enough points: {needed} needed, {balance} available."


class OutOfStock(LoyaltyError):
    code = "out_of_stock"
    template = "Gift {gift!r} is out of stock."


class LimitReached(LoyaltyError):
    code = "limit_reached"
    template = "Gift {gift!r} is limited to {limit} per member."


class GiftNotFound(LoyaltyError):
    code = "gift_not_found"
    template = "Gift {gift!r} not found."


class GiftExists(LoyaltyError):
    code = "gift_exists"
    template = "Gift {gift!r} already exists."


class GiftInactive(LoyaltyError):
    code = "gift_inactive"
    template = "Gift {gift!r} cannot be redeemed now ({reason})."


class OrderNotFound(LoyaltyError):
    code = "order_not_found"
    template = "Order {order} not found."


class AlreadyCancelled(LoyaltyError):
    code = "already_cancelled"
    template = "Order {order} was already cancelled."


class InvalidProfile(InvalidInput):
    code = "invalid_profile"
    template = "Invalid {field}: {reason}."


def loyalty_error_codes() -> dict[str, type[LoyalcodeError]]:
    """Every loyalty refusal's stable code and its class (for docs and tests)."""
    classes: list[type[LoyalcodeError]] = [
        PhoneRequired, ProfileIncomplete, InsufficientPoints, OutOfStock, LimitReached,
        GiftNotFound, GiftExists, GiftInactive, OrderNotFound, AlreadyCancelled,
        InvalidProfile,
    ]
    return {c.code: c for c in classes}


class InvalidPhone(RedemptionError):
    """Not a member's phone under the deployment's phone policy (``loyalty.phones``).
    The message says why in fixed words and never repeats the number."""

    code = "invalid_phone"
    template = "Not a valid phone number: {reason}."

    def __init__(self, message: str | None = None, **facts: Any) -> None:
        facts.setdefault("reason", "not a valid number")
        super().__init__(message, **facts)


class InvalidIdentity(InvalidInput):
    code = "invalid_identity"
    template = "Invalid {kind}: use 1 to 128 printable characters."


class MemberNotFound(LoyalcodeError):
    code = "member_not_found"
    template = "No member found for {by}."


class PhoneRequired(RedemptionError):
    code = "phone_required"
    template = "Bind a phone number to earn points."


class IdentityInUse(RedemptionError):
    """A bind or a scan that would take an identity from a member who has a phone, merge
    two members who each have one, or replace a member's phone: nothing changed."""

    code = "identity_in_use"
    template = "This {kind} belongs to another member who has a phone; bind that phone instead."


class PhoneUnverified(RedemptionError):
    """Linking an external id and a phone needs the caller's word (``phone_verified``)
    that the consumer proved the phone is theirs: nothing changed."""

    code = "phone_unverified"
    template = (
        "Verify the phone first (an SMS code, or WeChat's phone-number API): "
        "an external id is linked to a phone only once it is verified."
    )
