"""The outermost layer of every request: limits, security headers, the access log,
and the last word on anything that escaped (a 500 problem document, never a traceback).

One pure ASGI middleware rather than several: each layer costs a few microseconds
per request on the redemption route.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import MutableMapping
from typing import Any

import anyio

from loyalcode.errors import LoyalcodeError
from loyalcode.service.logs import ACCESS, ERRORS
from loyalcode.service.problems import (
    PROBLEM_JSON,
    InternalError,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    problem_body,
    status_of,
)
from loyalcode.service.settings import ServiceSettings

#: Set on every response. The API serves JSON only: nothing may be framed, sniffed,
#: cached or loaded from anywhere.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
#: Where a route leaves what the access log may say of the request (``api_key`` id,
#: ``serial``, ``outcome``); see :func:`log_facts`.
LOG_KEY = "loyalcode.log"


def log_facts(scope: MutableMapping[str, Any]) -> dict[str, Any]:
    """The access-log facts of this request, for a route to add to."""
    facts: dict[str, Any] = scope.setdefault(LOG_KEY, {})
    return facts


class Guard:
    """Body-size cap, request timeout, request id, security headers, access log,
    and a problem document for whatever a route did not expect."""

    def __init__(self, app: Any, settings: ServiceSettings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.timeout = settings.request_timeout_seconds

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = secrets.token_hex(8)
        facts: dict[str, Any] = {}
        scope[LOG_KEY] = facts
        sent = {"status": 0}
        request_id_header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                headers = list(message.get("headers", ()))
                # a page sets its own policy and caching; the API's apply to the rest
                own = {name.lower() for name, _ in headers} if headers else ()
                message["headers"] = [*headers,
                                      *(h for h in SECURITY_HEADERS if h[0] not in own),
                                      request_id_header]
            await send(message)

        received = 0

        async def capped_receive() -> dict[str, Any]:
            nonlocal received
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise PayloadTooLarge(limit=self.max_body)
            return message

        try:
            length, media = _body_headers(scope)
            if length is not None and length > self.max_body:
                raise PayloadTooLarge(limit=self.max_body)
            if scope.get("method") in _WITH_BODY and not (
                    media == "json" or (media == "form" and not scope["path"].startswith("/v1/"))):
                raise UnsupportedMediaType()  # JSON for the API; page forms outside /v1
            with anyio.fail_after(self.timeout):
                await self.app(scope, capped_receive, send_with_headers)
        except LoyalcodeError as err:  # refused here, before or outside the app's handlers
            facts.setdefault("outcome", err.code)
            if not sent["status"]:
                await _send_problem(send_with_headers, err)
        except TimeoutError:
            facts.setdefault("outcome", RequestTimeout.code)
            if not sent["status"]:
                await _send_problem(send_with_headers, RequestTimeout(seconds=self.timeout))
        except Exception as exc:  # noqa: BLE001 - the last resort: logged by type and place, answered 500
            facts["outcome"] = InternalError.code
            ERRORS.error("unhandled exception", exc_info=exc,
                         extra={"fields": {"request_id": request_id}})
            if not sent["status"]:
                await _send_problem(send_with_headers, InternalError(request_id=request_id))
        finally:
            route = scope.get("route")
            ACCESS.info("request", extra={"fields": {
                "request_id": request_id,
                "method": scope.get("method"),
                "route": getattr(route, "path", None),
                "status": sent["status"],
                "ms": round((time.perf_counter() - started) * 1000, 2),
                "client": (scope.get("client") or (None,))[0],
                **facts,
            }})


_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _body_headers(scope: dict[str, Any]) -> tuple[int | None, str | None]:
    """The declared body length, and what the body is declared: ``"json"``
    (``application/json``, ``application/*+json``), ``"form"``
    (``application/x-www-form-urlencoded``, a page's form) or ``None``."""
    length, kind = None, None
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or (
                    media.startswith(b"application/") and media.endswith(b"+json")):
                kind = "json"
            elif media == b"application/x-www-form-urlencoded":
                kind = "form"
    return length, kind


async def _send_problem(send: Any, err: LoyalcodeError) -> None:
    status = status_of(err)
    body = json.dumps(problem_body(err, status), ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode("ascii")),
                            (b"content-length", str(len(body)).encode("ascii"))]})
    await send({"type": "http.response.body", "body": body})
