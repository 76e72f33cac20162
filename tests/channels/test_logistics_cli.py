"""The logistics commands: case, shipment, ship, return; errors as one line + JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli


@pytest.fixture
def gs1_cli(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    config = tmp_path / "gs1.toml"
    config.write_text('[gs1]\ncompany_prefix = "0614141"\nextension = 1\n')
    monkeypatch.setenv("LOYALCODE_CONFIG", str(config))
    assert cli("channel", "add", "GD-DIST", "--name", "GD", "--kind", "distributor",
               "--region", "44").exit_code == 0
    assert cli("channel", "add", "WH", "--name", "Warehouse", "--kind", "distributor",
               "--region", "44").exit_code == 0
    return cli


def test_case_create_needs_a_company_prefix(cli: Cli) -> None:
    r = cli("case", "create", "--count", "2", "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "gs1_not_configured"
    assert r.stderr.startswith("error [gs1_not_configured]: No GS1 company prefix")


def test_pack_ship_return_show(gs1_cli: Cli) -> None:
    cli = gs1_cli
    r = cli("batch", "create", "--sku", "TEA", "--quantity", "100", "--points", "1",
            "--per-case", "10", "--cases-per-pallet", "5", "--json")
    assert r.exit_code == 0, r.stderr
    batch = r.json()["id"]
    assert "10 cases, 2 pallets" in r.stderr
    pallet = "106141410000000002"  # pallets are allocated first: reference 0
    r = cli("case", "show", pallet, "--json")
    body = r.json()
    assert body["kind"] == "pallet" and body["units"] == 50 and len(body["cases"]) == 5
    assert body["ranges"][0] == {"batch": batch, "from": 1, "to": 10, "count": 10,
                                 "case": body["cases"][0]}
    r = cli("ship", "--channel", "GD-DIST", "--by", "wh1", pallet, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["units"] == 50 and r.json()["opened_by"] == "wh1"
    r = cli("return", body["cases"][0], "--json")
    assert r.exit_code == 0 and r.json()["channel"] is None and r.json()["units"] == 10
    r = cli("return", "--to-channel", "WH", f"{batch}:20", "--json")
    assert r.exit_code == 0 and r.json()["channel"] == "WH"
    r = cli("report", "--by", "shipment", "--json")
    assert r.exit_code == 0, r.stderr
    rows = {row["shipment"]: row for row in r.json()["rows"]}
    assert rows[1]["codes_shipped"] == 50 and rows[1]["codes_activated"] == 39
    assert rows[2]["codes_shipped"] == 10 and rows[3]["codes_activated"] == 1


def test_shipment_scan_by_scan(gs1_cli: Cli) -> None:
    cli = gs1_cli
    batch = cli("batch", "create", "--sku", "TEA", "--quantity", "48", "--points", "1",
                "--json").json()["id"]
    made = cli("case", "create", "--count", "2", "--pallets", "1", "--json").json()
    c1, c2 = made["cases"]
    lines = "\n".join([f"{c1},{batch}:{n}" for n in range(1, 25)]
                      + [f"{c2},{batch}:{n}" for n in range(25, 49)] + [f"{made['pallets'][0]},{c1}"])
    r = cli("case", "upload", "-", "--json", stdin=lines)
    assert r.exit_code == 0, r.stderr
    assert r.json()["units"] == 48 and r.json()["rows"] == 2
    opened = cli("shipment", "open", "--channel", "GD-DIST", "--json").json()
    sid = str(opened["id"])
    r = cli("shipment", "add", sid, made["pallets"][0], f"(00){made['pallets'][0]}", "--json")
    assert [line["added"] for line in r.json_lines()] == [True, False]
    assert cli("shipment", "close", sid, "--json").json()["units"] == 24
    r = cli("shipment", "add", sid, c2, "--json")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "shipment_closed"
    r = cli("case", "move", f"{batch}:30", "--to", c1, "--json")
    assert r.exit_code == 0 and r.json()["units"] == 1
    r = cli("case", "upload", "-", "--json", stdin=f"{c1},{batch}:1\n{c2},{batch}:1\n")
    assert r.exit_code == 1 and r.json()["error"]["code"] == "unit_in_two_cases"
    assert r.json()["error"]["line"] == 2 and r.stderr.startswith("error [unit_in_two_cases]: Line 2:")


def test_readme_ssccs_are_valid() -> None:
    import re

    from loyalcode.channels.sscc import is_valid
    from tests.readme import readme_section

    section = readme_section("Activation: shipping codes to a channel")
    found = set(re.findall(r"\b0\d{17}\b", section))
    assert found and all(is_valid(code) for code in found)


def test_a_printed_case_label_is_scanned_and_shipped(gs1_cli: Cli, tmp_path: Path) -> None:
    """Print a case label, decode it as a handheld does, ship the decoded text: the
    units inside are activated for the channel."""
    import zxingcpp

    from loyalcode.channels import sscc as gs1
    from tests.printing.support import pdf_pages

    cli = gs1_cli
    r = cli("batch", "create", "--sku", "TEA-250", "--quantity", "48", "--points", "1",
            "--per-case", "24", "--json")
    assert r.exit_code == 0, r.stderr
    first_case = gs1.build(extension=1, company_prefix="0614141", reference=0)
    out = tmp_path / "cases.pdf"
    r = cli("print-logistic", "-", "--out", str(out), "--host", "lc.example.com", "--json",
            stdin=f"case\t{first_case}\n")
    assert r.exit_code == 0, r.stderr
    assert r.json()["labels"] == 1
    (page,) = pdf_pages(out, 300)
    found = {x.format.name: x for x in zxingcpp.read_barcodes(page)}
    bars = found["Code128"]
    scanned = bars.symbology_identifier + bars.bytes.decode()  # ]C1 00 + the 18 digits
    r = cli("ship", "--channel", "GD-DIST", scanned, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["units"] == 24
    r = cli("ship", "--channel", "WH", found["QRCode"].text, "--json")  # the Digital Link QR
    assert r.exit_code == 0 and r.json()["units"] == 24
    r = cli("report", "--by", "shipment", "--json")
    rows = {row["shipment"]: row for row in r.json()["rows"]}
    assert rows[1]["codes_shipped"] == 24 and rows[2]["codes_activated"] == 24
