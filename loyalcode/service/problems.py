"""RFC 9457 problem documents with the library's stable codes, and the status rule.

Every refusal over HTTP is ``application/problem+json``::

    {"type": "urn:loyalcode:problem:already_redeemed", "title": "already_redeemed",
     "status": 409, "detail": "...", "code": "already_redeemed", "same_member": true}

``code`` is the code the library and the CLI give for the same refusal. The status
comes from one rule, :data:`STATUS`: 400 when the request breaks the schema, 401/403
for keys and scopes, 404 for an unknown id in the path (:class:`PathNotFound`), 409 for
``already_redeemed`` and identity conflicts, 429 ``throttled`` (with ``Retry-After``),
503 when the database (or the deployment) is not there, and 422 for every other
refusal. A new code slots in by a row in :data:`STATUS`, or gets 422 by default.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from loyalcode.errors import LoyalcodeError

PROBLEM_JSON = "application/problem+json"

#: The status of each code that is not 422 (every other business refusal).
STATUS: dict[str, int] = {
    # the request breaks the schema
    "invalid_request": 400,
    "invalid_idempotency_key": 400,
    # keys and scopes
    "api_key_required": 401,
    "invalid_api_key": 401,
    "scope_required": 403,
    # a page form posted without its CSRF token, or from another site
    "csrf_failed": 403,
    # routing
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    # conflicts with what exists: the code was redeemed, an identity is someone else's,
    # the phone behind a member must be verified before an identity joins it (issue 11),
    # a retry racing its first request
    "already_redeemed": 409,
    "identity_in_use": 409,
    "phone_unverified": 409,
    "idempotency_key_in_progress": 409,
    # too many failures
    "throttled": 429,
    "sms_limited": 429,  # SMS codes sent to a phone or a client address (issue 19)
    # the deployment cannot answer now
    "database_unavailable": 503,
    "not_initialized": 503,
    "schema_out_of_date": 503,
    "key_missing": 503,
    "key_mismatch": 503,
    "invalid_key": 503,
    "invalid_config": 503,
    "request_timeout": 503,
    "sms_unavailable": 503,
    # never from any input; the body says no more than this
    "database_error": 500,
    "internal_error": 500,
}
BUSINESS_REFUSAL = 422


class InvalidRequest(LoyalcodeError):
    code = "invalid_request"
    template = "The request does not match the schema: {detail}"


class NotFound(LoyalcodeError):
    code = "not_found"
    template = "No such resource: see /v1/openapi.json."


class MethodNotAllowed(LoyalcodeError):
    code = "method_not_allowed"
    template = "This method is not allowed here: see /v1/openapi.json."


class PayloadTooLarge(LoyalcodeError):
    code = "payload_too_large"
    template = "The request body is larger than {limit} bytes."


class UnsupportedMediaType(LoyalcodeError):
    code = "unsupported_media_type"
    template = "Send the request body as JSON (Content-Type: application/json)."


class RequestTimeout(LoyalcodeError):
    code = "request_timeout"
    template = "The request was not answered within {seconds} seconds."


class InternalError(LoyalcodeError):
    code = "internal_error"
    template = "An internal error occurred (request {request_id}); nothing is shown of it here."


class PathNotFound(LoyalcodeError):
    """A library ``*_not_found`` for the id in a route's path: 404 with its own code.

    Routes of later areas raise ``PathNotFound(err)`` where the id came from the path;
    the same refusal about an id in a body stays a 422.
    """

    def __init__(self, cause: LoyalcodeError) -> None:
        super().__init__(cause.message, **cause.facts)
        self.code = cause.code  # type: ignore[misc]


def status_of(err: LoyalcodeError) -> int:
    """The HTTP status of a refusal, by the rule above."""
    if isinstance(err, PathNotFound):
        return 404
    return STATUS.get(err.code, BUSINESS_REFUSAL)


class Problem(BaseModel):
    """An RFC 9457 problem document (for the OpenAPI description)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str


def problem_body(err: LoyalcodeError, status: int | None = None) -> dict[str, Any]:
    """The problem document of ``err``: RFC 9457's members, ``code``, and the error's
    plain facts (``same_member``, ``retry_after`` ...), as in the CLI's JSON."""
    status = status or status_of(err)
    body: dict[str, Any] = {
        "type": f"urn:loyalcode:problem:{err.code}",
        "title": err.code.replace("_", " "),
        "status": status,
        "detail": err.message,
    }
    for name, value in err.to_dict().items():
        if name != "message":
            body.setdefault(name, value)
    return body


def problem_response(err: LoyalcodeError, headers: dict[str, str] | None = None) -> Response:
    """The response for ``err``, with ``Retry-After`` for a throttle and
    ``WWW-Authenticate`` for a missing or wrong key."""
    status = status_of(err)
    return raw_problem(status, json.dumps(problem_body(err, status), ensure_ascii=False),
                       headers, err)


def raw_problem(status: int, body: str, headers: dict[str, str] | None = None,
                err: LoyalcodeError | None = None) -> Response:
    """A problem response from a stored body (an idempotent replay) or a fresh one."""
    out = dict(headers or {})
    if status == 401:
        out.setdefault("WWW-Authenticate", 'Bearer realm="loyalcode"')
    if err is not None and "retry_after" in err.facts:
        out.setdefault("Retry-After", str(err.facts["retry_after"]))
    return Response(body, status_code=status, headers=out, media_type=PROBLEM_JSON)


def openapi_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem responses a route documents."""
    return {
        s: {"model": Problem, "content": {PROBLEM_JSON: {}},
            "description": "A problem document (RFC 9457) with the stable `code`."}
        for s in statuses
    }
