"""GTINs: trade items only; restricted circulation numbers and coupons refused, as
biip classifies their GS1 prefixes."""

from __future__ import annotations

import pytest

from loyalcode.codegen.batches import normalize_gtin
from loyalcode.codegen.errors import InvalidGtin
from tests.conftest import Cli

RCN = "a restricted circulation number"
COUPON = "a coupon or refund number"


@pytest.mark.parametrize(("raw", "why"), [
    ("00000000000000", f"{RCN} (GS1 prefix 000: Used to issue Restricted Circulation Numbers within a company)"),
    ("20000004", f"{RCN} (GS1 prefix 200: Used to issue Restricted Circulation Numbers within a company)"),
    ("2000000000008", f"{RCN} (GS1 prefix 200: Used to issue GS1 Restricted Circulation Numbers within a geographic region (MO defined))"),
    ("0400000000008", f"{RCN} (GS1 prefix 040: Used to issue GS1 Restricted Circulation Numbers within a company)"),
    ("10200000000001", f"{RCN} (GS1 prefix 020: Used to issue Restricted Circulation Numbers within a geographic region (MO defined))"),
    ("9810000000006", f"{COUPON} (GS1 prefix 981: GS1 coupon identification for common currency areas)"),
    ("9900000000004", f"{COUPON} (GS1 prefix 99: GS1 coupon identification)"),
    ("9800000000007", f"{COUPON} (GS1 prefix 980: Refund receipts)"),
])
def test_not_trade_items_refused(raw: str, why: str) -> None:
    with pytest.raises(InvalidGtin) as err:
        normalize_gtin(raw)
    assert err.value.code == "invalid_gtin"
    assert err.value.message == f"Invalid GTIN {raw!r}: {why}, not a trade item."


@pytest.mark.parametrize(("raw", "gtin14"), [
    ("6901234567892", "06901234567892"), ("06901234567892", "06901234567892"),
    ("09501101020917", "09501101020917"), ("9781234567897", "09781234567897"),
    ("12345670", "00000012345670"), ("036000291452", "00036000291452"),
])
def test_trade_items_accepted(raw: str, gtin14: str) -> None:
    assert normalize_gtin(raw) == gtin14


@pytest.mark.parametrize(("raw", "why"), [("6901234567893", "the check digit is wrong"),
                                          ("690123456789", "the check digit is wrong"),
                                          ("690123", "use 8, 12, 13 or 14 digits"),
                                          ("６９０１２３４５６７８９２", "use 8, 12, 13 or 14 digits")])
def test_malformed_refused(raw: str, why: str) -> None:
    with pytest.raises(InvalidGtin, match=why):
        normalize_gtin(raw)


def test_batch_create_refuses_over_cli(cli: Cli) -> None:
    r = cli("batch", "create", "--sku", "S", "--quantity", "10", "--points", "1",
            "--gtin", "00000000000000", "--json")
    assert r.exit_code == 1 and r.stderr.startswith("error [invalid_gtin]")
    assert "restricted circulation" in r.json()["error"]["message"]
    assert cli("batch", "list", "--json").json() == []
    r = cli("batch", "create", "--sku", "S", "--quantity", "10", "--points", "1",
            "--gtin", "6901234567892", "--json")
    assert r.exit_code == 0 and r.json()["gtin"] == "06901234567892"
