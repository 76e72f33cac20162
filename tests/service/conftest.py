"""Fixtures of the service tests: the shop's database, an API key, a running server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.support import Server, start_server

#: Throttle after 3 failures; keys read on every request (revocation tests).
CONFIG = """
[redemption]
throttle_failures = 3

[service]
key_cache_seconds = 0
max_body_bytes = 65536
"""


def make_key(ctx: Any, *scopes: str, name: str = "crm") -> str:
    from loyalcode.access.apikeys import create_key

    with ctx.session() as s, s.begin():
        return create_key(s.connection(), name, list(scopes), dt.datetime.now(dt.UTC)).token


@pytest.fixture
def token(ctx: Any) -> str:
    """A key with the scope ``redeem``."""
    return make_key(ctx, "redeem")


@pytest.fixture
def server(db_url: str, shop: Any, tmp_path: Path) -> Iterator[Server]:
    """The service on the shop's database (SQLite and PostgreSQL), one worker."""
    s = start_server(db_url, config=CONFIG, tmp_path=tmp_path)
    yield s
    s.stop()
