"""Refusals of the distribution tree and activation, in the project's one exception tree."""

from __future__ import annotations

from loyalcode.errors import InvalidInput, LoyalcodeError


class InvalidRegion(InvalidInput):
    code = "invalid_region"
    template = "Invalid region {value!r}: use a GB/T 2260 code of 2, 4 or 6 digits."


class InvalidChannelKind(InvalidInput):
    code = "invalid_channel_kind"
    template = "Invalid channel kind {value!r}: use one of {choices}."


class InvalidChannelCode(InvalidInput):
    code = "invalid_channel_code"
    template = "Invalid channel code {value!r}: use 1 to 64 letters, digits, '-', '_' or '.'."


class ChannelNotFound(LoyalcodeError):
    code = "channel_not_found"
    template = "Channel {channel!r} not found."


class ChannelExists(LoyalcodeError):
    code = "channel_exists"
    template = "Channel {channel!r} already exists."


class UnlistedRegion(InvalidRegion):
    """Well formed, but on neither the shipped GB/T 2260 list nor ``[regions] extra``."""

    template = (
        "Invalid region {value!r}: not a GB/T 2260 code on the {year} list "
        "(add newer codes to [regions] extra in loyalcode.toml)."
    )
