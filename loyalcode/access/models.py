"""The tables of API keys and idempotency records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalcode.store.db import Base
from loyalcode.store.timeutil import UtcDateTime


class ApiKey(Base):
    """One API key: its public ``prefix`` (in the token, for look-up), a SHA-256 of its
    secret (never the secret), its space-separated ``scopes``, and when it was revoked."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class IdempotencyRecord(Base):
    """The first outcome of a POST sent with an ``Idempotency-Key`` by one API key.

    The primary key (api key, idempotency key) is the guard against two requests
    claiming one key at once: an insert that conflicts, never a check-then-write.
    ``status`` is NULL while the first request runs. ``request_hash`` is a keyed hash
    of the request under the caller's own API key secret, so the stored hash says
    nothing about a request body (which can hold a code) to whoever reads the table.
    ``response`` is NULL for a route whose answer is recomputed on a replay (one that
    writes nothing, such as the offline check, whose answer holds codes).
    """

    __tablename__ = "idempotency_records"

    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
