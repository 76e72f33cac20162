"""The webhook dispatcher against a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from loyalcode.errors import InvalidInput
from loyalcode.events.dispatch import dispatch, verify
from loyalcode.events.outbox import acknowledge
from tests.loyal import Loyal, phone


class Receiver:
    """Answers 500 to the first ``fail_first`` requests, then 200; records bodies."""

    def __init__(self, fail_first: int = 0, always_fail: bool = False) -> None:
        self.fail_first, self.always_fail = fail_first, always_fail
        self.requests: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.raw: list[bytes] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                with outer.lock:
                    outer.raw.append(raw)
                    outer.requests.append(body)
                    outer.headers.append(dict(self.headers))
                    ok = not outer.always_fail and len(outer.requests) > outer.fail_first
                    if ok:
                        outer.accepted.append(body)
                self.send_response(200 if ok else 500)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=2)
    yield r
    r.close()


def test_fails_twice_then_each_event_arrives_once(loyal: Loyal, receiver: Receiver) -> None:
    loyal.earn(phone(1), 2)  # member_joined, points_earned x 2
    sleeps: list[float] = []
    result = dispatch(loyal.engine, receiver.url, backoff=0.25, sleep=sleeps.append)
    ids = [int(r[0]) for r in loyal.rows("SELECT id FROM events ORDER BY id")]
    assert list(result.delivered) == ids and result.failed is None
    assert [b["id"] for b in receiver.accepted] == ids  # each once, in order
    assert len(receiver.requests) == len(ids) + 2 and result.attempts == len(ids) + 2
    assert sleeps == [0.25, 0.5]  # backoff doubles
    assert loyal.scalar("SELECT count(*) FROM events WHERE acknowledged_at IS NULL") == 0
    first = receiver.accepted[1]
    assert first["type"] == "points_earned" and first["payload"]["member"] == first["member"]
    assert "phone" not in first["payload"]  # the member id only, by default
    assert receiver.headers[-1]["X-Loyalcode-Event"] == str(ids[-1])
    # a second run sends nothing; a new event goes alone
    assert dispatch(loyal.engine, receiver.url, sleep=sleeps.append).delivered == ()
    loyal.earn(phone(1), 1)
    again = dispatch(loyal.engine, receiver.url, sleep=sleeps.append)
    assert len(again.delivered) == 1 and [b["id"] for b in receiver.accepted].count(again.delivered[0]) == 1
    assert len(receiver.accepted) == len(ids) + 1


def test_acknowledged_events_are_never_sent(loyal: Loyal, receiver: Receiver) -> None:
    loyal.earn(phone(2), 3)
    ids = [int(r[0]) for r in loyal.rows("SELECT id FROM events ORDER BY id")]
    with loyal.tx() as conn:
        acknowledge(conn, ids[:2])
    result = dispatch(loyal.engine, receiver.url, backoff=0, sleep=lambda _: None)
    assert list(result.delivered) == ids[2:]
    assert {b["id"] for b in receiver.requests} == set(ids[2:])


def test_an_unreachable_receiver_stops_the_run(loyal: Loyal, cli) -> None:  # type: ignore[no-untyped-def]
    loyal.earn(phone(3), 1)
    down = Receiver(always_fail=True)
    try:
        result = dispatch(loyal.engine, down.url, max_attempts=3, backoff=0, sleep=lambda _: None)
        assert result.delivered == () and result.failed is not None and result.error == "HTTP 500"
        assert len(down.requests) == 3  # the first event, three times; nothing after it
        assert loyal.scalar("SELECT count(*) FROM events WHERE acknowledged_at IS NULL") == 2
        assert loyal.scalar("SELECT attempts FROM event_deliveries") == 3
        r = cli("events", "dispatch", "--url", down.url, "--max-attempts", "1", "--backoff", "0",
                "--json")
        assert r.exit_code == 1 and r.json()["error"]["code"] == "dispatch_failed"
        assert len(r.stderr.splitlines()) == 1
    finally:
        down.close()
    r = cli("events", "dispatch", "--url", "ftp://example.com/")
    assert r.exit_code == 1 and r.stderr.startswith("error [invalid_input]")


def test_cli_dispatch(loyal: Loyal, receiver: Receiver, cli) -> None:  # type: ignore[no-untyped-def]
    loyal.earn(phone(4), 1)
    r = cli("events", "dispatch", "--url", receiver.url, "--backoff", "0.01", "--json")
    assert r.exit_code == 0, r.stderr
    assert len(r.json()["delivered"]) == 2 and r.json()["attempts"] == 4
    assert cli("events", "list", "--pending", "--json").json() == []


SECRET = b"webhook-secret-of-the-crm-32byte"


def test_signed_requests_verify_only_with_the_secret(loyal: Loyal, receiver: Receiver) -> None:
    loyal.earn(phone(5), 1)
    result = dispatch(loyal.engine, receiver.url, backoff=0, sleep=lambda _: None, secret=SECRET)
    assert result.failed is None and len(receiver.raw) == 4  # two failures, two events
    for headers, raw in zip(receiver.headers, receiver.raw):
        assert headers["X-Loyalcode-Signature"].startswith("sha256=")
        assert verify(SECRET, headers, raw)
        assert not verify(b"another-secret-of-32-bytes-long!", headers, raw)
        assert not verify(SECRET, headers, raw.replace(b'"id"', b'"Id"'))  # a changed body
        sent = int(headers["X-Loyalcode-Timestamp"])
        assert not verify(SECRET, headers, raw, now=sent + 301)  # a replay, later
        assert verify(SECRET, headers, raw, now=sent + 299)
        assert verify(SECRET, {k.lower(): v for k, v in headers.items()}, raw)  # any case
    assert SECRET.decode() not in repr(receiver.headers)  # the secret itself never travels


def test_unsigned_without_a_secret_and_short_secrets_refused(loyal: Loyal,
                                                             receiver: Receiver) -> None:
    loyal.earn(phone(6), 1)
    with pytest.raises(InvalidInput):
        dispatch(loyal.engine, receiver.url, secret=b"short")
    assert receiver.raw == []
    dispatch(loyal.engine, receiver.url, backoff=0, sleep=lambda _: None)
    assert all("X-Loyalcode-Signature" not in h for h in receiver.headers)
    assert not verify(SECRET, receiver.headers[-1], receiver.raw[-1])


def test_cli_signs_with_the_environment_secret(loyal: Loyal, receiver: Receiver, cli,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    loyal.earn(phone(7), 1)
    monkeypatch.setenv("LOYALCODE_WEBHOOK_SECRET", SECRET.decode())
    r = cli("events", "dispatch", "--url", receiver.url, "--backoff", "0", "--json")
    assert r.exit_code == 0, r.stderr
    assert SECRET.decode() not in r.stdout + r.stderr
    assert all(verify(SECRET, h, raw) for h, raw in zip(receiver.headers, receiver.raw))
