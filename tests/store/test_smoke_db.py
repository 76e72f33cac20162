"""The batch lifecycle through the CLI on both databases."""

from __future__ import annotations

from tests.conftest import BRAND


def test_batch_create_export_check(cli) -> None:
    r = cli("batch", "create", "--sku", "SERUM-50", "--quantity", "1000", "--points", "10",
            "--payload", BRAND, "--json")
    assert r.exit_code == 0, r.stderr
    batch = r.json()
    assert batch["quantity"] == 1000 and batch["serial_end"] - batch["serial_start"] == 1000
    r = cli("export", str(batch["id"]), "--from", "5", "--to", "7")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "seq,code,payload"
    assert [line.split(",")[0] for line in lines[1:]] == ["5", "6", "7"]
    codes = [line.split(",")[1] for line in lines[1:]]
    r = cli("check", *codes, "--json")
    assert r.exit_code == 0, r.stderr
    assert [x["status"] for x in r.json_lines()] == ["ok", "ok", "ok"]
