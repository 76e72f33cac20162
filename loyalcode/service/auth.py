"""API keys on every ``/v1`` route: ``Authorization: Bearer <key>``, then the scope.

A route declares what it needs with ``Depends(require("redeem"))``; the dependency
answers 401 (``api_key_required``, ``invalid_api_key``) or 403 (``scope_required``)
before the body is looked at. A verified key is kept in memory for
``[service] key_cache_seconds`` (by its public prefix, with the stored hash: every
request's secret is still compared, in constant time), so a revocation reaches every
worker within that time, and the scan stays one database round trip.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from loyalcode.access.apikeys import ApiKeyInfo, StoredKey, find_key, parse_token
from loyalcode.access.errors import ApiKeyRequired, ScopeRequired
from loyalcode.service.guard import log_facts

if TYPE_CHECKING:
    from loyalcode.service.app import Service

_bearer = HTTPBearer(auto_error=False, description="An API key from `loyalcode apikey create`.")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its key, and the key's secret (the idempotency hash is keyed by it)."""

    key: ApiKeyInfo
    secret: str


class KeyCache:
    """Verified keys by prefix, each for ``seconds``."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._keys: dict[str, tuple[float, StoredKey]] = {}

    def get(self, prefix: str) -> StoredKey | None:
        hit = self._keys.get(prefix)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, prefix: str, stored: StoredKey) -> None:
        if self.seconds > 0:
            self._keys[prefix] = (time.monotonic() + self.seconds, stored)


async def authenticate(service: Service, token: str | None) -> Principal:
    """The caller of a request with this bearer ``token``."""
    if not token:
        raise ApiKeyRequired()
    prefix, secret = parse_token(token)
    stored = service.keys.get(prefix)
    if stored is None:
        stored = await service.run(lambda: service.read(lambda conn: find_key(conn, prefix)))
        service.keys.put(prefix, stored)
    return Principal(key=stored.check(secret), secret=secret)


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who holds a valid key with ``scope``."""

    async def caller(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        principal = await authenticate(request.app.state.service,
                                       credentials.credentials if credentials else None)
        log_facts(request.scope)["api_key"] = principal.key.id
        if not principal.key.allows(scope):
            raise ScopeRequired(scope=scope)
        return principal

    caller.scope = scope  # type: ignore[attr-defined]  # read by the OpenAPI document
    return caller


def scope_of(dependencies: list[Any]) -> str | None:
    """The scope a route's dependencies require (FastAPI's ``Dependant`` tree)."""
    for dep in dependencies:
        found = getattr(dep.call, "scope", None) or scope_of(dep.dependencies)
        if found:
            return str(found)
    return None
