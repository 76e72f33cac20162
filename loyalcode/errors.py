"""The project's one exception tree.

Every error has a stable machine-readable ``code`` that callers (the CLI, the CRM
front end) switch on, and a message built from a fixed template with the facts.
No message ever contains a hidden code, what a consumer typed, or key material.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LoyalcodeError(Exception):
    """Root of every error loyalcode raises on purpose."""

    code: ClassVar[str] = "error"
    template: ClassVar[str] = "{detail}"

    def __init__(self, message: str | None = None, **facts: Any) -> None:
        self.facts = facts
        if message is None:
            message = self.template.format(**facts)
        self.message = message
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        """The error as the CLI's ``{"error": {...}}`` JSON body."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        for name, value in self.facts.items():
            if isinstance(value, (str, int, float, bool)) or value is None:
                body.setdefault(name, value)
        return body


# --- configuration, database, key -------------------------------------------------


class ConfigError(LoyalcodeError):
    code = "invalid_config"
    template = "Invalid configuration: {detail}"


class DatabaseUnavailable(LoyalcodeError):
    code = "database_unavailable"
    template = "Database {url} is not available: {reason}"


class DatabaseError(LoyalcodeError):
    """The database refused a statement for a reason other than being unreachable or
    busy (those are :class:`DatabaseUnavailable`); the reason is the driver's first line."""

    code = "database_error"
    template = "Database {url} refused the operation: {reason}"


class DatabaseUrlUnsupported(LoyalcodeError):
    code = "database_url_unsupported"
    template = (
        "Database URL {url} is not supported: use sqlite:///PATH (the embedded default) "
        "or postgresql://USER@HOST/DB."
    )


class NotInitialized(LoyalcodeError):
    code = "not_initialized"
    template = "Database {url} is not initialised: run 'loyalcode init' first."


class SchemaOutOfDate(LoyalcodeError):
    code = "schema_out_of_date"
    template = "Database schema is at {current}, the code expects {head}: run 'loyalcode db upgrade'."


class KeyMissing(LoyalcodeError):
    code = "key_missing"
    template = (
        "No key found (LOYALCODE_KEY, LOYALCODE_KEY_FILE or {path}): the key is needed "
        "to export, print, check and redeem codes."
    )


class InvalidKey(LoyalcodeError):
    code = "invalid_key"
    template = "The key from {source} is not 64 hexadecimal characters."


class KeyFilePermissions(LoyalcodeError):
    code = "key_file_permissions"
    template = (
        "The key file {path} is open to group or others (mode {mode}); anyone who can read "
        "it can make valid codes. Refusing to use it: run '{command}'."
    )


class KeyMismatch(LoyalcodeError):
    code = "key_mismatch"
    template = (
        "The key from {source} does not match this database (fingerprint {expected}): "
        "refusing to use it."
    )


# --- output files -----------------------------------------------------------------


class OutputNotWritable(LoyalcodeError):
    code = "output_unwritable"
    template = "Cannot write {path}: {reason}."


class OutputNotRegular(LoyalcodeError):
    code = "output_not_regular"
    template = (
        "Refusing to write codes to {path}: it is {kind}, not a regular file. Give --stream "
        "to write straight to it (a printer device or a spooler's FIFO)."
    )


# --- input validation --------------------------------------------------------------


class InvalidInput(LoyalcodeError):
    code = "invalid_input"
    template = "{detail}"


class InvalidText(InvalidInput):
    """A text argument that is not text we take (too long, a control character, a lone
    surrogate): ``invalid_input``, naming the field, never echoing the value."""

    template = "Invalid {field}: {reason}."


class InvalidDate(InvalidInput):
    code = "invalid_date"
    template = "Invalid date {value!r} for {field}: use YYYY-MM-DD."


class FutureDate(InvalidInput):
    """A date a destructive run would act as of, later than today: refused, since what
    it did could not be undone when the day comes."""

    code = "future_date"
    template = "{field} {value} is in the future (today is {today}): {why}"


class InvalidDateRange(InvalidInput):
    code = "invalid_date_range"
    template = "{field_from} ({start}) is after {field_until} ({end})."


# --- scans: the first outcomes of the redemption flow, also used by `check` -------


class RedemptionError(LoyalcodeError):
    """Base of every refusal of a scan; ``loyalcode.redemption`` adds the rest."""

    code = "redemption_error"


