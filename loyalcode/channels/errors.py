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


class ActivationNotFound(LoyalcodeError):
    code = "activation_not_found"
    template = "Activation {activation} not found."


class ActivationNotUndoable(LoyalcodeError):
    """An undo entry itself, or an entry already undone."""

    code = "activation_not_undoable"
    template = "{detail}"


class ActivationSuperseded(LoyalcodeError):
    """Later entries cover part of the range: undoing this one would not restore what
    a scan sees; undo those first (newest first)."""

    code = "activation_superseded"
    template = (
        "Activation {activation} is no longer the newest over all its codes: later "
        "{noun} {later} {cover} part of them; undo {them}."
    )
