"""Forcing an interleaving on PostgreSQL: hold one side open in a transaction of the
test's, start the other in a thread, and go on only once PostgreSQL reports that
thread's backend waiting for a lock (no sleeps that hope for an order)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, text

#: Run a test on PostgreSQL only (READ COMMITTED races; SQLite has one writer at a time).
PG_ONLY = pytest.mark.parametrize(
    "empty_db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def waiting(engine: Any) -> int:
    """Backends of this database waiting for a lock now."""
    with engine.connect() as conn:
        n = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )).scalar_one()
        conn.rollback()
    return int(n)


def until_blocked(engine: Any, futures: list[Future[Any]], n: int) -> None:
    """Return once ``n`` backends wait for a lock."""
    deadline = time.monotonic() + 15
    while waiting(engine) < n:
        for f in futures:
            if f.done():
                f.result()  # re-raise what went wrong
                raise AssertionError("a racing call finished without waiting for a lock")
        assert time.monotonic() < deadline, "the racing calls never waited for a lock"
        time.sleep(0.005)


def race(engine: Any, *calls: Callable[[], Any], waiting_before: int = 0) -> list[Future[Any]]:
    """Start each call in a thread of its own, one after the other, each once the one
    before waits for a lock; return their futures (all of them waiting)."""
    futures: list[Future[Any]] = []
    for i, call in enumerate(calls):
        pool = ThreadPoolExecutor(max_workers=1)
        futures.append(pool.submit(call))
        pool.shutdown(wait=False)
        until_blocked(engine, futures, waiting_before + i + 1)
    return futures


@contextmanager
def held(engine: Any) -> Iterator[Connection]:
    """A connection in a transaction of the test's: committed at the end of the block
    (rolled back if the block raises)."""
    with engine.connect() as conn, conn.begin():
        yield conn
