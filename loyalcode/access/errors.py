"""Refusals of API keys and idempotent retries, each with a stable code."""

from __future__ import annotations

from loyalcode.errors import InvalidInput, LoyalcodeError


class AccessError(LoyalcodeError):
    """Base of the refusals of a key or of a retried request."""

    code = "access_error"


class ApiKeyRequired(AccessError):
    code = "api_key_required"
    template = "An API key is required: send 'Authorization: Bearer <key>'."


class InvalidApiKey(AccessError):
    """A key that is malformed, unknown, wrong or revoked: one answer for all, so a
    caller learns nothing about which keys exist."""

    code = "invalid_api_key"
    template = "The API key is not valid (unknown, wrong or revoked)."


class ScopeRequired(AccessError):
    code = "scope_required"
    template = "This API key lacks the scope '{scope}' that this operation needs."


class InvalidScope(InvalidInput):
    code = "invalid_scope"
    template = "Unknown scope {scope!r}: use one or more of {scopes}."


class InvalidKeyName(InvalidInput):
    code = "invalid_key_name"
    template = "An API key's name is 1 to {max} printable characters."


class ApiKeyNotFound(AccessError):
    code = "api_key_not_found"
    template = "No API key {key!r}: give its id or its prefix (see 'apikey list')."


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"
    template = "An Idempotency-Key is 1 to {max} printable ASCII characters."


class IdempotencyKeyReused(AccessError):
    code = "idempotency_key_reused"
    template = (
        "This Idempotency-Key was used with another request in the last {hours} hours: "
        "use a new key for a new request."
    )


class IdempotencyKeyInProgress(AccessError):
    code = "idempotency_key_in_progress"
    template = "A request with this Idempotency-Key is still being processed: retry shortly."
