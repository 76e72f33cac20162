"""Refusals of the hidden code and its batches, in the project's one exception tree."""

from __future__ import annotations

from loyalcode.errors import InvalidInput, LoyalcodeError, RedemptionError


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"
    template = "Quantity must be a whole number from 1 to {maximum}, got {value!r}."


class InvalidPoints(InvalidInput):
    code = "invalid_points"
    template = "Points must be a whole number from 0 to {maximum}, got {value!r}."


class InvalidGtin(InvalidInput):
    code = "invalid_gtin"
    template = "Invalid GTIN {value!r}: {reason}."


class InvalidTemplate(InvalidInput):
    code = "invalid_payload_template"
    template = "Invalid payload template {value!r}: {reason}."


class RangeOutsideBatch(InvalidInput):
    code = "range_outside_batch"
    template = "Sequence range {start}..{end} is outside batch {batch} (1..{quantity})."


class BatchNotFound(LoyalcodeError):
    code = "batch_not_found"
    template = "Batch {batch} not found."


class BatchVoid(LoyalcodeError):
    code = "batch_void"
    template = "Batch {batch} is void."


class ExampleDomain(LoyalcodeError):
    code = "example_domain"
    template = (
        "Batch {batch} still has the placeholder payload {template}: its QR codes would "
        "point at example.com. Set your domain first (loyalcode batch update {batch} "
        "--payload 'HTTPS://QR.BRAND.CN/C/{{code}}'; loyalcode init --base-url URL for new "
        "batches), or pass --allow-example-domain for a trial run."
    )


class BatchAlreadyIssued(LoyalcodeError):
    code = "batch_already_issued"
    template = (
        "Batch {batch}'s codes were exported or printed on {issued_at}: its payload is on "
        "labels now and can no longer change."
    )


class SerialSpaceExhausted(LoyalcodeError):
    code = "serial_space_exhausted"
    template = "Not enough serial numbers left for {quantity} codes ({remaining} remain under this key)."


class MalformedCode(RedemptionError):
    code = "malformed"
    template = "Not a loyalty code: {reason}."


class CodeTypo(RedemptionError):
    code = "typo"
    template = "Check character mismatch: this looks like a typo, please check the code."


class ForgedCode(RedemptionError):
    code = "forged"
    template = "This code is not genuine."
