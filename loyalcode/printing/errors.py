"""Errors of the printing package, in the project's one exception tree.

They subclass :class:`loyalcode.codegen.errors.LoyalcodeError` (or ``InvalidInput``)
so the CLI turns them into one stderr line, a JSON error body and a non-zero exit.
"""

from __future__ import annotations

# The output refusals are shared with `export`; they are importable from here too.
from loyalcode.errors import (  # noqa: F401
    InvalidInput,
    LoyalcodeError,
    OutputNotRegular,
    OutputNotWritable,
)


class TemplateNotFound(LoyalcodeError):
    code = "template_not_found"
    template = "Label template {name!r} not found; known templates: {known}."


class TemplateInvalid(InvalidInput):
    code = "template_invalid"
    template = "Label template {name!r} is invalid: {reason}."


class TemplateFileError(InvalidInput):
    code = "template_file_invalid"
    template = "Cannot read label templates from {path}: {reason}."


class InvalidDpi(InvalidInput):
    code = "invalid_dpi"
    template = "DPI must be a whole number from {minimum} to {maximum}, got {value!r}."


class InvalidFormat(InvalidInput):
    code = "invalid_format"
    template = "Unknown output format {value!r}: use one of {choices}."


class InvalidEcLevel(InvalidInput):
    code = "invalid_ec_level"
    template = "Unknown QR error correction level {value!r}: use L, M, Q or H."


class PayloadTooLong(InvalidInput):
    code = "payload_too_long"
    template = "QR payload of {length} characters does not fit: {reason}."


class LabelTooSmall(InvalidInput):
    code = "label_too_small"
    template = "Template {name!r} at {dpi} dpi: {reason}."


class FontNotFound(LoyalcodeError):
    code = "font_not_found"
    template = "No font found that can render {text!r}: {hint}"


class InvalidSplit(InvalidInput):
    code = "invalid_split"
    template = "Cannot split every {value!r} labels: {reason}."


class InvalidCaption(InvalidInput):
    code = "invalid_caption"
    template = "The caption ({length} characters) does not fit template {name!r} at {dpi} dpi: {reason}."
