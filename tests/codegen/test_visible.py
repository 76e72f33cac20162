"""Visible serials (明码): a round trip per serial, and refusals that never echo input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalcode.codegen.visible import VisibleSerials
from loyalcode.errors import InvalidInput

SERIALS = VisibleSerials("a-test-salt")


@given(st.integers(0, 2**35 - 1))
def test_round_trip(serial: int) -> None:
    text = SERIALS.encode(serial)
    assert SERIALS.decode(text) == serial
    assert SERIALS.decode(f"  {text.lower()} ") == serial


@pytest.mark.parametrize("junk", ["", "7KX4-9QPM-2HDF-8W3T", "7KX49QPM2HDF8W3T", "0000", "名码"])
def test_refusal_does_not_repeat_the_input(junk: str) -> None:
    with pytest.raises(InvalidInput) as err:
        SERIALS.decode(junk)
    assert err.value.code == "invalid_input"
    if junk:
        assert junk not in str(err.value) and junk not in err.value.message


def test_another_deployment_salt_does_not_decode_it() -> None:
    text = SERIALS.encode(123_456)
    with pytest.raises(InvalidInput):
        VisibleSerials("another-salt").decode(text)
