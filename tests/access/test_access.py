"""API keys and idempotency records, the library calls (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.access import apikeys, idempotency
from loyalcode.access.errors import (
    ApiKeyNotFound,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InvalidApiKey,
    InvalidIdempotencyKey,
    InvalidKeyName,
    InvalidScope,
)

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def _create(ctx: Any, *scopes: str) -> apikeys.CreatedKey:
    with ctx.session() as s, s.begin():
        return apikeys.create_key(s.connection(), "crm", list(scopes), NOW)


def test_a_key_is_stored_as_a_hash_and_authenticates(ctx: Any) -> None:
    created = _create(ctx, "members", "redeem", "redeem")
    assert created.info.scopes == ("redeem", "members")
    with ctx.engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(text("SELECT * FROM api_keys"))
                          for v in row)
        assert created.token not in stored and created.token.split("_", 2)[2] not in stored
        assert apikeys.authenticate(conn, created.token).id == created.info.id
        for wrong in (created.token[:-1] + ("A" if created.token[-1] != "A" else "B"),
                      "lck_000000000000_" + "x" * 43, "", "Bearer x", created.token + "x"):
            with pytest.raises(InvalidApiKey):
                apikeys.authenticate(conn, wrong)
    with ctx.session() as s, s.begin():
        revoked = apikeys.revoke_key(s.connection(), str(created.info.id), NOW)
        assert revoked.revoked_at is not None and not revoked.active
        again = apikeys.revoke_key(s.connection(), created.info.prefix, NOW + dt.timedelta(1))
        assert again.revoked_at == revoked.revoked_at  # the first revocation stands
        with pytest.raises(ApiKeyNotFound):
            apikeys.revoke_key(s.connection(), "999", NOW)
    with ctx.engine.connect() as conn, pytest.raises(InvalidApiKey):
        apikeys.authenticate(conn, created.token)


@pytest.mark.parametrize("scopes", [[], ["redeem", "root"], ["REDEEM"]])
def test_unknown_scopes_are_refused(ctx: Any, scopes: list[str]) -> None:
    with pytest.raises(InvalidScope), ctx.session() as s, s.begin():
        apikeys.create_key(s.connection(), "crm", scopes, NOW)


@pytest.mark.parametrize("name", ["", " ", "x" * 65, "a\nb"])
def test_bad_names_are_refused(ctx: Any, name: str) -> None:
    with pytest.raises(InvalidKeyName), ctx.session() as s, s.begin():
        apikeys.create_key(s.connection(), name, ["redeem"], NOW)


def test_idempotency_claim_replay_reuse_expiry(ctx: Any) -> None:
    key_id = _create(ctx, "redeem").info.id

    def claim(key: str, digest: str, now: dt.datetime) -> Any:
        with ctx.engine.begin() as conn:
            return idempotency.claim(conn, key_id, key, digest, now)

    assert claim("k1", "a" * 64, NOW) is None  # claimed
    with pytest.raises(IdempotencyKeyInProgress):
        claim("k1", "a" * 64, NOW)
    with pytest.raises(IdempotencyKeyReused):
        claim("k1", "b" * 64, NOW)
    with ctx.engine.begin() as conn:
        idempotency.complete(conn, key_id, "k1", 201, '{"points": 10}')
    assert claim("k1", "a" * 64, NOW + dt.timedelta(hours=23)) == idempotency.Replay(
        201, '{"points": 10}')
    # after 24 hours the key is new again
    assert claim("k1", "b" * 64, NOW + dt.timedelta(hours=25)) is None
    # a claim whose request died is taken over after STALE_PENDING
    assert claim("k2", "c" * 64, NOW) is None
    assert claim("k2", "c" * 64, NOW + idempotency.STALE_PENDING * 2) is None
    with ctx.engine.begin() as conn:
        idempotency.release(conn, key_id, "k2")
        assert idempotency.purge(conn, NOW + dt.timedelta(hours=30)) == 0  # k1 is fresh
        assert idempotency.purge(conn, NOW + dt.timedelta(hours=50)) == 1
    for bad in ("", "x" * 256, "ключ", "a\tb"):
        with pytest.raises(InvalidIdempotencyKey):
            claim(bad, "a" * 64, NOW)


def test_request_hash_is_keyed_by_the_callers_secret() -> None:
    body = b'{"scan": "X"}'
    one = idempotency.request_hash("s" * 43, "POST", "/v1/redemptions", body)
    assert one == idempotency.request_hash("s" * 43, "POST", "/v1/redemptions", body)
    assert one != idempotency.request_hash("t" * 43, "POST", "/v1/redemptions", body)
    assert one != idempotency.request_hash("s" * 43, "POST", "/v1/checks", body)
    assert one != idempotency.request_hash("s" * 43, "POST", "/v1/redemptions", body + b" ")
