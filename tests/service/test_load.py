"""Concurrency and shutdown against a real server: 16 requests racing for one code on
PostgreSQL with 2 workers credit once; SIGTERM under load loses no request."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import CONFIG
from tests.service.support import start_server
from tests.shop import Shop

REDEEM = "/v1/redemptions"


@pytest.mark.postgres
def test_sixteen_concurrent_requests_for_one_code_credit_once(
    pg_db_url: str, tmp_path: Path, keyring: Any, token_pg: tuple[Shop, str]
) -> None:
    shop, token = token_pg
    server = start_server(pg_db_url, workers=2, config=CONFIG, tmp_path=tmp_path)
    try:
        for round_ in range(3):
            code = shop.code(100 + round_)
            barrier = threading.Barrier(16)
            results: list[Any] = [None] * 16

            def scan(i: int, code: str = code, barrier: threading.Barrier = barrier,
                     results: list[Any] = results, round_: int = round_) -> None:
                with server.client(token) as http:
                    http.get("/healthz")  # connected before the race
                    barrier.wait()
                    try:
                        # a phone of its own per request and round: a clone counts
                        # against its scanner's throttle, which is not what this tests
                        results[i] = http.post(REDEEM, json={
                            "scan": code, "phone": f"139{round_}{i:03d}8000"})
                    except Exception as exc:
                        results[i] = exc

            threads = [threading.Thread(target=scan, args=(i,)) for i in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            statuses = sorted(r.status_code for r in results if isinstance(r, httpx.Response))
            assert statuses == [201] + [409] * 15, results
            assert all(r.json()["code"] == "already_redeemed" for r in results
                       if r.status_code == 409)
        assert shop.count("redemptions") == 3
        assert shop.count("ledger") == 3
        shop.assert_balances_match_ledger()
    finally:
        server.stop()


@pytest.fixture
def token_pg(pg_db_url: str, keyring: Any) -> Any:
    """The shop's tree and batch on a PostgreSQL-only database, and a redeem key."""
    from loyalcode.channels.activation import activate
    from loyalcode.channels.batches import create_batch
    from loyalcode.channels.tree import add_channel
    from loyalcode.store.context import open_context
    from tests.service.conftest import make_key
    from tests.shop import TEMPLATE

    ctx = open_context(pg_db_url)
    with ctx.session() as s, s.begin():
        add_channel(s, "GD-DIST", name="Guangdong distributor", kind="distributor",
                    region="440000")
        b = create_batch(s, sku="SERUM-50", quantity=1000, points=10, payload_template=TEMPLATE)
        activate(s, b.id, channel="GD-DIST", seq_from=1, seq_to=500)
    yield Shop(ctx=ctx, keyring=keyring, batch=b.id, serial_start=b.serial_start,
               used=set()), make_key(ctx, "redeem")
    ctx.dispose()


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_sigterm_under_load_finishes_every_request_in_flight(
    db_url: str, shop: Shop, token: str, tmp_path: Path
) -> None:
    """Every credit in the database got its 201, every 201 is a credit, and the server
    exits 0 once the requests in flight are answered."""
    server = start_server(db_url, config=CONFIG, tmp_path=tmp_path)
    answered: list[int] = []  # serials of 201s
    failed: list[str] = []  # transport errors (refused or closed before an answer)
    lock = threading.Lock()
    next_seq = iter(range(1, 501))
    go_down = threading.Event()

    def client() -> None:
        with server.client(token) as http:
            while True:
                with lock:
                    seq = next(next_seq, None)
                if seq is None:
                    return
                try:
                    response = http.post(REDEEM, json={"scan": shop.code(seq),
                                                       "phone": "13800138000"})
                except httpx.TransportError as exc:
                    with lock:
                        failed.append(type(exc).__name__)
                    return
                assert response.status_code == 201, response.text
                with lock:
                    answered.append(response.json()["serial"])
                    if len(answered) >= 40:
                        go_down.set()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    assert go_down.wait(timeout=120)
    code = server.stop()
    for t in threads:
        t.join(timeout=60)
    # uvicorn re-raises the SIGTERM it handled once it is done: the status of a process
    # ended by SIGTERM, which supervisors (systemd, Kubernetes) take as a clean stop
    assert code in (0, -signal.SIGTERM), server.log()
    assert "Finished server process" in server.log()
    assert failed, "the load went on past the shutdown"
    with shop.ctx.engine.connect() as conn:
        from sqlalchemy import text

        credited = {int(s) for (s,) in conn.execute(text("SELECT serial FROM redemptions"))}
    assert credited == set(answered)
    assert len(answered) == len(set(answered)) >= 40
