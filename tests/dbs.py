"""Fixtures of the codegen tests that pick one database kind on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest


def _init(url: str) -> str:
    from loyalcode.store.context import open_context
    from loyalcode.store.deployment import init_deployment

    ctx = open_context(url)
    init_deployment(ctx)
    ctx.dispose()
    return url


@pytest.fixture
def sqlite_db_url(tmp_path: Path, key_env: str) -> str:
    """An initialised SQLite database only (for tests whose subject is not the database)."""
    return _init(f"sqlite:///{tmp_path / 'loyalcode.db'}")


@pytest.fixture
def pg_db_url(pg_schema_url: str, key_env: str) -> str:
    """An initialised PostgreSQL schema only (skips locally / fails in CI without one)."""
    return _init(pg_schema_url)
