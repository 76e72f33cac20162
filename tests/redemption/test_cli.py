"""The redemption commands: thin shells with the DESIGN.md JSON contract."""

from __future__ import annotations

import pytest

from tests.conftest import BRAND
from tests.shop import OTHER_PHONE, PHONE, PHONE_E164

REDEEM_KEYS = {"points", "balance", "batch", "sku", "channel", "diversion", "scan_region",
               "channel_region", "member", "events"}


@pytest.fixture
def batch(cli) -> dict:
    assert cli("channel", "add", "GD-DIST", "--name", "GD", "--kind", "distributor", "--region", "44").exit_code == 0
    r = cli("batch", "create", "--sku", "SERUM-50", "--quantity", "100", "--points", "10",
            "--payload", BRAND, "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()


def _codes(cli, batch_id: int, frm: int, to: int) -> list[str]:
    r = cli("export", str(batch_id), "--from", str(frm), "--to", str(to))
    assert r.exit_code == 0, r.stderr
    return [line.split(",")[1] for line in r.stdout.splitlines()[1:]]


def test_activate_redeem_member_events(cli, batch) -> None:
    code, other = _codes(cli, batch["id"], 1, 2)
    r = cli("redeem", code, "--phone", PHONE, "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "not_activated"
    r = cli("activate", str(batch["id"]), "--channel", "GD-DIST", "--from", "1", "--to", "50", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json() | {"created_at": None} == {
        "id": 1, "batch": batch["id"], "channel": "GD-DIST", "from": 1, "to": 50, "quantity": 50,
        "serial_start": batch["serial_start"], "serial_end": batch["serial_start"] + 50,
        "created_at": None, "batch_status": "active", "kind": "activation", "undoes": None,
        "undone_by": None, "replaces": [], "restores": [], "dry_run": False,
    }
    r = cli("redeem", f"https://lc.example.com/c/{code}", "--phone", PHONE, "--region", "310000",
            "--source", "10.0.0.9", "--json")
    assert r.exit_code == 0, r.stderr
    body = r.json()
    assert REDEEM_KEYS <= set(body)
    assert (body["points"], body["balance"], body["sku"], body["channel"]) == (10, 10, "SERUM-50", "GD-DIST")
    assert (body["diversion"], body["scan_region"], body["channel_region"]) == (True, "31", "44")
    assert [e["type"] for e in body["events"]] == ["member_joined", "points_earned", "diversion_alert"]

    for phone, same in ((PHONE, True), (OTHER_PHONE, False)):
        r = cli("redeem", code.lower(), "--phone", phone, "--json")
        assert r.exit_code == 1
        assert r.json()["error"]["code"] == "already_redeemed"
        assert r.json()["error"]["same_member"] is same
        assert r.stderr.startswith("error [already_redeemed]: ") and len(r.stderr.splitlines()) == 1
        assert code not in r.stderr and code not in r.stdout

    r = cli("redeem", other, "--phone", PHONE)
    assert r.exit_code == 0 and "Credited 10 points" in r.stdout and "balance 20" in r.stdout

    r = cli("member", "bind", "--phone", PHONE, "--openid", "oCLI", "--json")
    assert r.exit_code == 0 and r.json()["member"] == body["member"]
    r = cli("member", "show", "--openid", "oCLI", "--ledger", "--json")
    assert r.exit_code == 0, r.stderr
    shown = r.json()
    assert (shown["phone"], shown["balance"], shown["ledger_sum"], shown["redemptions"]) == (PHONE_E164, 20, 20, 2)
    assert shown["identities"] == [{"kind": "openid", "value": "oCLI"}]
    assert [e["delta"] for e in shown["ledger"]] == [10, 10]
    r = cli("member", "show", "--phone", "13700000000", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "member_not_found"

    r = cli("events", "list", "--pending", "--json")
    assert r.exit_code == 0
    pending = r.json()
    types = [e["type"] for e in pending]
    assert types[:3] == ["member_joined", "points_earned", "diversion_alert"] and "clone_alert" in types
    ids = [str(e["id"]) for e in pending[:2]]
    r = cli("events", "ack", *ids, "--json")
    assert r.exit_code == 0 and r.json() == {"acknowledged": [int(i) for i in ids], "already": []}
    r = cli("events", "ack", ids[0], "--json")
    assert r.json() == {"acknowledged": [], "already": [int(ids[0])]}
    r = cli("events", "list", "--pending", "--json")
    assert [e["id"] for e in r.json()] == [e["id"] for e in pending[2:]]
    r = cli("events", "ack", "99999", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "event_not_found"
    r = cli("events", "list")
    assert r.exit_code == 0 and "points_earned" in r.stdout


def test_redeem_errors_as_json(cli, batch) -> None:
    for scan, expected in (("", "malformed"), ("'; DROP TABLE members; --", "malformed"),
                           ("0000000000000000", "typo")):
        r = cli("redeem", scan, "--phone", PHONE, "--json")
        assert r.exit_code == 1
        assert r.json()["error"]["code"] in (expected, "forged")
    r = cli("redeem", "x", "--phone", "123", "--json")
    assert r.json()["error"]["code"] == "invalid_phone"
    r = cli("activate", str(batch["id"]), "--json")
    assert r.json()["error"]["code"] == "invalid_input"
    r = cli("activate", "999", "--channel", "GD-DIST", "--from", "1", "--to", "2", "--json")
    assert r.json()["error"]["code"] == "batch_not_found"
    r = cli("activate", str(batch["id"]), "--channel", "GD-DIST", "--from", "90", "--to", "101", "--json")
    assert r.json()["error"]["code"] == "range_outside_batch"


@pytest.mark.parametrize(
    "args", [("activate",), ("redeem",), ("member", "show"), ("member", "bind"), ("events", "list"), ("events", "ack")]
)
def test_every_command_has_help(cli, args) -> None:
    r = cli(*args, "--help")
    assert r.exit_code == 0
    assert "Usage" in r.stdout and len(r.stdout.splitlines()) > 3
