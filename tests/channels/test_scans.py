"""Scans as handhelds deliver them: every shape of a case label, a pallet label and a
unit's outer code reads to one value (loyalcode.channels.scans)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalcode.channels import sscc as gs1
from loyalcode.channels.errors import InvalidSscc, UnitNotFound
from loyalcode.channels.scans import GS, Scan, read_scan

SSCC = "069012340000000177"


def shapes(code: str) -> list[str]:
    """Every way a scanner (or a person) delivers the SSCC ``code``."""
    return [
        code, f"00{code}", f"(00){code}", f"(00) {code}", f"]C100{code}", f"]C1{GS}00{code}",
        f"{GS}00{code}", f"]d200{code}", f"]Q300{code}", f"]C100{code}{GS}3724",
        f"]C10206901234000017{GS}3724{GS}00{code}", f"(02)06901234000017(37)24(00){code}",
        f"https://lc.example.com/00/{code}", f"]Q1https://LC.example.com/00/{code}",
        f"https://id.gs1.org/00/{code}?17=261231", f"  ]C100{code}\r\n", f"\ufeff{code}",
    ]


@given(st.integers(min_value=0, max_value=10**17 - 1))
def test_every_shape_of_an_sscc_reads_to_its_18_digits(body: int) -> None:
    digits = f"{body:017d}"
    code = digits + gs1.calc_check_digit(digits)
    for shape in shapes(code):
        assert read_scan(shape) == Scan("sscc", code), shape


@pytest.mark.parametrize("text", ["]d14exgn9ky", "]C04EXGN9KY", "4EXGN9KY", " 4exgn9ky\n", "]Q14EXGN9KY"])
def test_a_unit_outer_code_reads_to_its_visible_serial(text: str) -> None:
    assert read_scan(text) == Scan("unit", "4EXGN9KY")


def test_batch_seq_passes_through() -> None:
    assert read_scan("2:17") == Scan("unit", "2:17")


@pytest.mark.parametrize("text, reason", [
    ("]C100069012340000000178", "the check digit is wrong"),
    ("]C10206901234000017", "GS1 element strings without an SSCC (AI 00)"),
])
def test_bad_gs1_scans_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidSscc) as err:
        read_scan(text)
    assert err.value.facts["reason"] == reason


def test_a_consumer_qr_is_refused_without_repeating_it() -> None:
    url = "HTTPS://LC.EXAMPLE.COM/C/7KX49QPM2HDF8W3T"
    with pytest.raises(UnitNotFound) as err:
        read_scan(url)
    assert "7KX4" not in err.value.message
    assert err.value.code == "unit_not_found"
