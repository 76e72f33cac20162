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


# --- logistics: SSCCs, cases and pallets, aggregation, shipments ----------------------


class InvalidSscc(InvalidInput):
    code = "invalid_sscc"
    template = "Invalid SSCC {value!r}: {reason}."


class Gs1NotConfigured(LoyalcodeError):
    code = "gs1_not_configured"
    template = (
        "No GS1 company prefix: set company_prefix under [gs1] in {path} "
        "(the 4 to 12 digits GS1 assigned to the brand)."
    )


class SsccSpaceExhausted(LoyalcodeError):
    code = "sscc_space_exhausted"
    template = (
        "Not enough SSCC serial references left for {count} under company prefix "
        "{company_prefix} and extension {extension} ({remaining} remain)."
    )


class LogisticUnitNotFound(LoyalcodeError):
    code = "sscc_not_found"
    template = "No case or pallet has SSCC {sscc}."


class WrongUnitKind(InvalidInput):
    code = "wrong_unit_kind"
    template = "SSCC {sscc} is a {kind}, not a {expected}."


class UnitNotFound(InvalidInput):
    code = "unit_not_found"
    template = "{unit}: {reason}."


class UnitInTwoCases(InvalidInput):
    code = "unit_in_two_cases"
    template = "Unit {unit} is in case {case} and in case {other}: move it with 'case move'."


class CaseOnTwoPallets(InvalidInput):
    code = "case_on_two_pallets"
    template = "Case {case} is on pallet {pallet} and on pallet {other}."


class AlreadyPacked(InvalidInput):
    code = "already_packed"
    template = "Batch {batch} already has {units} units in cases: pack by sequence only an unpacked batch."


class ShipmentNotFound(LoyalcodeError):
    code = "shipment_not_found"
    template = "Shipment {shipment} not found."


class ShipmentClosed(LoyalcodeError):
    code = "shipment_closed"
    template = "Shipment {shipment} is closed: open a new one."


class ShipmentEmpty(InvalidInput):
    code = "shipment_empty"
    template = "Shipment {shipment} has no units to {verb}: scan cases, pallets or units first."


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
