"""SSCC-18: check digits against GS1's published examples and biip's parser; junk refused."""

from __future__ import annotations

import pytest
from biip.sscc import Sscc
from hypothesis import given
from hypothesis import strategies as st

from loyalcode.channels import sscc
from loyalcode.channels.errors import InvalidSscc

# GS1 General Specifications (SSCC, AI 00) and the GS1 logistic label guideline.
GS1_EXAMPLES = ["106141411234567897", "376104250021234569", "340123450000000000"]


@pytest.mark.parametrize("number", GS1_EXAMPLES)
def test_published_examples_are_valid(number: str) -> None:
    assert sscc.calc_check_digit(number[:-1]) == number[-1]
    assert sscc.validate(number) == number
    assert sscc.validate(f"(00) {number}") == number
    assert sscc.validate(f"00{number}") == number
    assert sscc.validate(f"]C100{number}") == number
    assert Sscc.parse(number).value == number


def test_build_from_parts() -> None:
    assert sscc.build(extension=1, company_prefix="0614141", reference=123456789) == "106141411234567897"
    assert sscc.build(extension=3, company_prefix="7610425", reference=2123456) == "376104250021234569"


@pytest.mark.parametrize(("value", "reason"), [
    ("106141411234567898", "the check digit is wrong"),
    ("10614141123456789", "an SSCC has 18 digits, this has 17"),
    ("1061414112345678X7", "an SSCC has digits only"),
    ("", "an SSCC has digits only"),
    ("１０６１４１４１１２３４５６７８９７", "an SSCC has digits only"),  # full-width digits
])
def test_junk_is_refused_with_its_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidSscc) as err:
        sscc.validate(value)
    assert err.value.code == "invalid_sscc"
    assert err.value.message == f"Invalid SSCC {value!r}: {reason}."
    assert not sscc.is_valid(value)


def test_prefix_and_reference_bounds() -> None:
    with pytest.raises(InvalidSscc):
        sscc.build(extension=0, company_prefix="123", reference=1)
    with pytest.raises(InvalidSscc):
        sscc.build(extension=10, company_prefix="0614141", reference=1)
    with pytest.raises(InvalidSscc):
        sscc.build(extension=0, company_prefix="061414112345", reference=10_000)


@given(st.integers(0, 9), st.integers(4, 12).flatmap(
    lambda n: st.tuples(st.text("0123456789", min_size=n, max_size=n),
                        st.integers(0, 10 ** (16 - n) - 1))))
def test_every_built_sscc_parses_in_biip(extension: int, parts: tuple[str, int]) -> None:
    prefix, reference = parts
    number = sscc.build(extension=extension, company_prefix=prefix, reference=reference)
    parsed = Sscc.parse(number)
    assert parsed.extension_digit == extension and parsed.value == number
    # any single-digit change is caught by the check digit
    i = reference % 18
    wrong = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1:]
    assert not sscc.is_valid(wrong)
