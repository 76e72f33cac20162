"""A webhook dispatcher for the events outbox.

:func:`dispatch` posts pending events (unacknowledged, oldest first) one at a time to
a URL as JSON, and acknowledges each one the receiver accepted (any 2xx). A failure
(connection error, timeout, other status) is retried with exponential backoff
(``backoff``, ``2 * backoff``, ...) up to ``max_attempts``; then the run stops at that
event, so the receiver sees events in order, and reports it.

Exactly what is promised: an acknowledged event is never posted again (only
unacknowledged events are claimed, and the claim and the acknowledgement are
conditional updates); an event whose 2xx was lost (say the dispatcher died before it
could acknowledge) is posted again by the next run, so receivers should treat the
``X-Loyalcode-Event`` id as an idempotency key. Two dispatchers at once never post
the same event at the same time: each claims an event with a lease
(``event_deliveries.lease_until``) by a conditional upsert.

Body: ``{"id", "type", "member", "payload", "created_at"}``; headers
``X-Loyalcode-Event`` (the id) and ``X-Loyalcode-Event-Type``.

Signed when a secret is given (``LOYALCODE_WEBHOOK_SECRET`` for the CLI): headers
``X-Loyalcode-Timestamp`` (Unix seconds) and ``X-Loyalcode-Signature``
(``sha256=`` and the hex HMAC-SHA256 of ``timestamp + "." + body`` under the secret).
A receiver recomputes it over the raw body, compares in constant time and refuses
old timestamps (a replayed request); :func:`verify` does exactly that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, text

from loyalcode.errors import InvalidInput
from loyalcode.events.errors import DispatchFailed
from loyalcode.events.outbox import EventInfo, list_events
from loyalcode.store.timeutil import UtcDateTime, utc

_TS = UtcDateTime()

# Claim an unacknowledged event for ``lease`` seconds: the upsert writes only when the
# event is still pending and nobody else holds an unexpired lease on it.
_CLAIM = text(
    "INSERT INTO event_deliveries (event_id, attempts, lease_until) "
    "SELECT e.id, 0, :lease FROM events e WHERE e.id = :id AND e.acknowledged_at IS NULL "
    "ON CONFLICT (event_id) DO UPDATE SET lease_until = :lease "
    "WHERE event_deliveries.delivered_at IS NULL AND (event_deliveries.lease_until IS NULL "
    "OR event_deliveries.lease_until < :now) RETURNING event_id"
).bindparams(bindparam("lease", type_=_TS), bindparam("now", type_=_TS))
_ATTEMPT = text(
    "UPDATE event_deliveries SET attempts = attempts + 1, last_attempt_at = :now, "
    "last_status = :status, last_error = :error WHERE event_id = :id"
).bindparams(bindparam("now", type_=_TS))
_DELIVERED = text(
    "UPDATE event_deliveries SET delivered_at = :now, lease_until = NULL WHERE event_id = :id"
).bindparams(bindparam("now", type_=_TS))
_ACK = text(
    "UPDATE events SET acknowledged_at = :now WHERE id = :id AND acknowledged_at IS NULL"
).bindparams(bindparam("now", type_=_TS))
_RELEASE = text("UPDATE event_deliveries SET lease_until = NULL WHERE event_id = :id")


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What a run did: events delivered (ids), attempts made, and the event it stopped
    at when one could not be delivered (with the reason)."""

    delivered: tuple[int, ...]
    attempts: int
    failed: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": list(self.delivered),
            "attempts": self.attempts,
            "failed": self.failed,
            "error": self.error,
        }


def _body(event: EventInfo) -> bytes:
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "member": event.member,
            "payload": event.payload,
            "created_at": event.created_at.isoformat(),
        },
        ensure_ascii=False,
    ).encode("utf-8")


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Loyalcode-Signature`` value of a request."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: bytes, headers: Any, body: bytes, *, max_age: float = 300.0,
           now: float | None = None) -> bool:
    """For receivers: is this request signed with ``secret`` within ``max_age``
    seconds? ``headers``: any mapping of header names (in any case) to values."""
    named = {str(k).lower(): str(v) for k, v in headers.items()}
    timestamp = named.get("x-loyalcode-timestamp", "")
    given = named.get("x-loyalcode-signature", "")
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > max_age:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)


def post(url: str, event: EventInfo, timeout: float,
         secret: bytes | None = None) -> tuple[int | None, str | None]:
    """POST one event (signed when there is a ``secret``); ``(status, error)``: error
    is ``None`` for a 2xx."""
    body = _body(event)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Loyalcode-Event": str(event.id),
        "X-Loyalcode-Event-Type": event.type,
    }
    if secret is not None:
        timestamp = str(int(time.time()))  # per attempt: a retry is signed afresh
        headers["X-Loyalcode-Timestamp"] = timestamp
        headers["X-Loyalcode-Signature"] = signature(secret, timestamp, body)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code), f"HTTP {err.code}"
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return None, f"{type(err).__name__}: {reason}"[:200]
    if 200 <= status < 300:
        return status, None
    return status, f"HTTP {status}"


def check_url(url: str) -> str:
    """An http(s) URL, or :class:`InvalidInput`."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2000:
        raise InvalidInput("A webhook URL starts with http:// or https://.")
    return url


def dispatch(
    engine: Engine,
    url: str,
    *,
    max_attempts: int = 5,
    backoff: float = 0.5,
    timeout: float = 10.0,
    limit: int | None = None,
    lease_seconds: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
    secret: bytes | None = None,
) -> DispatchResult:
    """Deliver pending events to ``url`` (a service entry point: it commits after every
    event, so what was delivered stays acknowledged whatever happens next). With a
    ``secret`` every request is signed (see the module)."""
    check_url(url)
    if secret is not None and len(secret) < 16:
        raise InvalidInput("A webhook secret is at least 16 bytes.")
    if max_attempts < 1 or backoff < 0 or timeout <= 0:
        raise InvalidInput("max_attempts >= 1, backoff >= 0 and timeout > 0, please.")
    delivered: list[int] = []
    attempts = 0
    after = 0
    while limit is None or len(delivered) < limit:
        with engine.connect().execution_options(sqlite_deferred=True) as conn:
            page = list_events(conn, pending=True, after=after, limit=100)
            conn.rollback()
        if not page:
            break
        for event in page:
            if limit is not None and len(delivered) >= limit:
                break
            after = event.id
            now = utc()
            with engine.begin() as conn:
                claimed = conn.execute(
                    _CLAIM,
                    {"id": event.id, "lease": now + dt.timedelta(seconds=lease_seconds), "now": now},
                ).scalar()
            if claimed is None:  # acknowledged meanwhile, or another dispatcher has it
                continue
            error: str | None = None
            for attempt in range(max_attempts):
                if attempt:
                    sleep(backoff * 2 ** (attempt - 1))
                status, error = post(url, event, timeout, secret)
                attempts += 1
                with engine.begin() as conn:
                    conn.execute(_ATTEMPT, {"id": event.id, "now": utc(), "status": status,
                                            "error": error})
                    if error is None:
                        conn.execute(_DELIVERED, {"id": event.id, "now": utc()})
                        conn.execute(_ACK, {"id": event.id, "now": utc()})
                if error is None:
                    delivered.append(event.id)
                    break
            if error is not None:
                with engine.begin() as conn:
                    conn.execute(_RELEASE, {"id": event.id})
                return DispatchResult(tuple(delivered), attempts, event.id, error)
    return DispatchResult(tuple(delivered), attempts, None, None)


def dispatch_or_raise(engine: Engine, url: str, **options: Any) -> DispatchResult:
    """:func:`dispatch`, raising :class:`DispatchFailed` when it stopped at an event."""
    result = dispatch(engine, url, **options)
    if result.failed is not None:
        raise DispatchFailed(
            event=result.failed, attempts=options.get("max_attempts", 5), reason=result.error,
            delivered=len(result.delivered),
        )
    return result
