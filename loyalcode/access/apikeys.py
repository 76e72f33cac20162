"""API keys: created with a name and scopes, shown once, stored as a hash, revocable.

A key is the token ``lck_<prefix>_<secret>``: the prefix (12 hexadecimal characters)
is public and finds the row; the secret (43 URL-safe characters, 256 random bits) is
checked against the stored SHA-256 in constant time. A fast hash is enough for a secret
of 256 random bits (nothing to guess); a slow password hash would only slow each call.

>>> prefix, secret = parse_token("lck_0123456789ab_" + "x" * 43)
>>> prefix
'0123456789ab'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select, update

from loyalcode.access.errors import (
    ApiKeyNotFound,
    InvalidApiKey,
    InvalidKeyName,
    InvalidScope,
)
from loyalcode.access.models import ApiKey

#: What a key may be allowed to do; each route of the service needs one of these.
SCOPES = ("redeem", "members", "events", "logistics", "admin")
TOKEN_PREFIX = "lck"
MAX_NAME = 64
_PREFIX_HEX = 12
_SECRET_CHARS = 43  # secrets.token_urlsafe(32)
_keys = cast(Table, ApiKey.__table__)


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key as listed: never its secret."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """Whether the key carries ``scope`` (scopes do not imply each other)."""
        return scope in self.scopes

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key and its token: the only time the token exists outside the caller."""

    info: ApiKeyInfo
    token: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.info.to_dict(), "key": self.token}


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The scopes, de-duplicated in :data:`SCOPES` order, or :class:`InvalidScope`."""
    if not scopes:
        raise InvalidScope(scope="", scopes=", ".join(SCOPES))
    for scope in scopes:
        if scope not in SCOPES:
            raise InvalidScope(scope=scope, scopes=", ".join(SCOPES))
    return tuple(s for s in SCOPES if s in scopes)


def parse_token(token: str) -> tuple[str, str]:
    """The (prefix, secret) of a token, or :class:`InvalidApiKey` for anything else."""
    parts = token.split("_", 2)
    if (
        len(parts) != 3
        or parts[0] != TOKEN_PREFIX
        or len(parts[1]) != _PREFIX_HEX
        or len(parts[2]) != _SECRET_CHARS
        or not parts[1].isascii()
        or not parts[2].isascii()
    ):
        raise InvalidApiKey()
    return parts[1], parts[2]


def _info(row: Any) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=int(row.id),
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes.split()),
        created_at=_aware(row.created_at),
        revoked_at=_aware(row.revoked_at) if row.revoked_at is not None else None,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def create_key(conn: Connection, name: str, scopes: list[str] | tuple[str, ...],
               now: dt.datetime) -> CreatedKey:
    """A new key named ``name`` with ``scopes``; the token is in the result only."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidKeyName(max=MAX_NAME)
    checked = check_scopes(scopes)
    prefix = secrets.token_hex(_PREFIX_HEX // 2)
    secret = secrets.token_urlsafe(32)
    row = conn.execute(
        insert(_keys)
        .values(name=name, prefix=prefix, secret_hash=hash_secret(secret),
                scopes=" ".join(checked), created_at=now, revoked_at=None)
        .returning(*_keys.c)
    ).one()
    return CreatedKey(info=_info(row), token=f"{TOKEN_PREFIX}_{prefix}_{secret}")


def list_keys(conn: Connection) -> list[ApiKeyInfo]:
    """Every key, revoked ones too, oldest first."""
    return [_info(r) for r in conn.execute(select(_keys).order_by(_keys.c.id))]


def revoke_key(conn: Connection, key: str, now: dt.datetime) -> ApiKeyInfo:
    """Revoke the key whose id (digits) or prefix is ``key``; revoking twice keeps the
    first time. :class:`ApiKeyNotFound` when there is none."""
    where = _keys.c.id == int(key) if key.isdecimal() and len(key) < 10 else _keys.c.prefix == key
    conn.execute(update(_keys).where(where, _keys.c.revoked_at.is_(None)).values(revoked_at=now))
    row = conn.execute(select(_keys).where(where)).one_or_none()
    if row is None:
        raise ApiKeyNotFound(key=key)
    return _info(row)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What authentication needs of a key's row (cacheable by the caller)."""

    info: ApiKeyInfo
    secret_hash: str

    def check(self, secret: str) -> ApiKeyInfo:
        """The key's info when ``secret`` is its secret and it is not revoked."""
        if not hmac.compare_digest(hash_secret(secret), self.secret_hash) or not self.info.active:
            raise InvalidApiKey()
        return self.info


def find_key(conn: Connection, prefix: str) -> StoredKey:
    """The stored key with this prefix, or :class:`InvalidApiKey`."""
    row = conn.execute(select(_keys).where(_keys.c.prefix == prefix)).one_or_none()
    if row is None:
        # Spend the time of a comparison anyway: no timing difference for unknown keys.
        hmac.compare_digest(hash_secret("x"), "0" * 64)
        raise InvalidApiKey()
    return StoredKey(info=_info(row), secret_hash=row.secret_hash)


def authenticate(conn: Connection, token: str) -> ApiKeyInfo:
    """The active key that ``token`` is, or :class:`InvalidApiKey`."""
    prefix, secret = parse_token(token)
    return find_key(conn, prefix).check(secret)
