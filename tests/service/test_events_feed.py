"""The events feed on PostgreSQL, where event ids commit out of order: a reader who
follows ``next_after`` sees every event exactly once (``outbox.feed``, and
``GET /v1/events`` over a real server)."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from loyalcode.events.outbox import emit, feed, list_events
from loyalcode.store.timeutil import utc
from tests.service.conftest import make_key
from tests.service.support import Server

postgres_only = pytest.mark.parametrize(
    "empty_db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def _follow(page: Any, after: int, wait: bool = False) -> tuple[list[int], int]:
    """One page; with ``wait``, the first page that is not empty. The feed holds events
    back while any older transaction of the PostgreSQL server (other tests' too) runs."""
    deadline = time.monotonic() + 60
    while True:
        body = page(after)
        ids = [e["id"] for e in body["events"]]
        if ids or not wait or time.monotonic() > deadline:
            return ids, body["next_after"]
        time.sleep(0.05)


@postgres_only
def test_a_late_commit_of_a_smaller_id_is_not_missed(server: Server, ctx: Any) -> None:
    """Writer B holds the older transaction id; writer A takes event id a, B takes b > a
    and commits first; the reader reads; A commits; the reader reads again."""
    key = make_key(ctx, "events", name="crm")
    with server.client(key) as http:
        def page(after: int) -> Any:
            answer = http.get("/v1/events", params={"after": after, "limit": 1000})
            assert answer.status_code == 200, answer.text
            return answer.json()

        _, after = _follow(page, 0)  # whatever the shop wrote
        a_conn = ctx.engine.connect()
        b_conn = ctx.engine.connect()
        try:
            b_tx = b_conn.begin()
            b_conn.execute(text("SELECT pg_current_xact_id()"))  # B's xid is the older
            a_tx = a_conn.begin()
            a_id = emit(a_conn, "points_earned", None, {"writer": "a"}, utc()).id
            b_id = emit(b_conn, "points_earned", None, {"writer": "b"}, utc()).id
            assert a_id < b_id
            b_tx.commit()

            # the old cursor (ids in order) moves past a while a is in flight
            with ctx.engine.connect() as conn:
                assert [e.id for e in list_events(conn, after=after)] == [b_id]

            seen, after = _follow(page, after, wait=True)
            assert seen == [b_id]  # b's transaction is older than a's: b is final
            a_tx.commit()
            more, after = _follow(page, after, wait=True)
            assert more == [a_id]
            assert _follow(page, after)[0] == []
        finally:
            a_conn.close()
            b_conn.close()


@postgres_only
def test_two_writers_and_a_follower_see_every_event_once(ctx: Any) -> None:
    """Two writers commit with random pauses (so ids commit out of order) while a reader
    follows the feed; at the end the reader has every event exactly once."""
    written: list[int] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(60):
                with ctx.engine.connect() as conn, conn.begin():
                    ids = [emit(conn, "points_earned", None, {"seed": seed}, utc()).id
                           for _ in range(rng.randint(1, 3))]
                    if rng.random() < 0.5:
                        conn.execute(text("SELECT pg_sleep(:s)"), {"s": rng.random() / 100})
                with lock:
                    written.extend(ids)
        except BaseException as err:
            failures.append(err)

    seen: list[int] = []
    writers = [threading.Thread(target=writer, args=(s,)) for s in (1, 2)]
    for t in writers:
        t.start()
    after = 0

    def read() -> None:
        nonlocal after
        with ctx.engine.connect() as conn, conn.begin():
            page = feed(conn, after=after, limit=7)
        seen.extend(e.id for e in page.events)
        after = page.next_after

    while any(t.is_alive() for t in writers):
        read()
    for t in writers:
        t.join()
    assert not failures, failures
    deadline = time.monotonic() + 60
    while len(seen) < len(written) and time.monotonic() < deadline:
        read()
    assert len(seen) == len(set(seen)), "an event was seen twice"
    assert sorted(seen) == sorted(written), "an event was missed"
