"""The Damm check symbol over GF(32): every single substitution and every adjacent
swap (including with the check symbol itself) is detected."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalcode.codegen import checkchar
from loyalcode.codegen.codeformat import ALPHABET, PAYLOAD_SYMBOLS
from loyalcode.codegen.errors import CodeTypo, MalformedCode

payloads = st.text(alphabet=ALPHABET, min_size=PAYLOAD_SYMBOLS, max_size=PAYLOAD_SYMBOLS)


def with_check(payload: str) -> str:
    return payload + checkchar.calc_check_symbol(payload)


def test_table_is_a_totally_antisymmetric_quasigroup() -> None:
    """The operation x*y = 2x + y: each row and column a permutation, and
    (c*x)*y == (c*y)*x only when x == y (what makes adjacent swaps detectable)."""
    table = [[checkchar.DOUBLE[x] ^ y for y in range(32)] for x in range(32)]
    for i in range(32):
        assert sorted(table[i]) == list(range(32))
        assert sorted(row[i] for row in table) == list(range(32))
    for c, x, y in itertools.product(range(32), repeat=3):
        if x != y:
            assert table[table[c][x]][y] != table[table[c][y]][x]


@given(payloads)
def test_valid_code_passes(payload: str) -> None:
    code = with_check(payload)
    assert checkchar.is_valid(code)
    assert checkchar.validate(code) == code


@given(payloads, st.integers(0, PAYLOAD_SYMBOLS), st.integers(1, 31))
def test_every_single_substitution_detected(payload: str, pos: int, delta: int) -> None:
    code = with_check(payload)
    wrong = ALPHABET[(ALPHABET.index(code[pos]) + delta) % 32]
    typo = code[:pos] + wrong + code[pos + 1 :]
    assert not checkchar.is_valid(typo)
    with pytest.raises(CodeTypo):
        checkchar.validate(typo)


@given(payloads, st.integers(0, PAYLOAD_SYMBOLS - 1))
def test_every_adjacent_swap_detected(payload: str, pos: int) -> None:
    """pos = 14 swaps the last payload symbol with the check symbol."""
    code = with_check(payload)
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
    if swapped != code:
        assert not checkchar.is_valid(swapped)


def test_exhaustive_on_a_sample() -> None:
    """For 200 random codes: all 16*31 substitutions and all 15 adjacent swaps."""
    rng = random.Random(2)
    for _ in range(200):
        code = with_check("".join(rng.choice(ALPHABET) for _ in range(PAYLOAD_SYMBOLS)))
        for pos in range(len(code)):
            for sym in ALPHABET:
                if sym != code[pos]:
                    assert not checkchar.is_valid(code[:pos] + sym + code[pos + 1 :])
        for pos in range(len(code) - 1):
            if code[pos] != code[pos + 1]:
                assert not checkchar.is_valid(code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :])


def test_exactly_one_check_symbol_per_payload() -> None:
    payload = "7KX49QPM2HDF8W3"
    valid = [s for s in ALPHABET if checkchar.is_valid(payload + s)]
    assert valid == [checkchar.calc_check_symbol(payload)]


def test_numpy_matches_scalar() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 32, size=(5000, PAYLOAD_SYMBOLS), dtype=np.uint8)
    checks = checkchar.check_symbols_np(values)
    for row, check in zip(values[:500], checks[:500]):
        payload = "".join(ALPHABET[v] for v in row)
        assert ALPHABET[check] == checkchar.calc_check_symbol(payload)
    full = np.concatenate([values, checks[:, None]], axis=1)
    assert (checkchar.interim_np(full) == 0).all()
    full[:, 3] ^= 1
    assert (checkchar.interim_np(full) != 0).all()


@pytest.mark.parametrize("junk", ["7KX49QPM2HDF8W3!", "7kx49qpm2hdf8w3t", "ＯＩＬ", "7KX4-9QPM"])
def test_junk_is_malformed_or_invalid(junk: str) -> None:
    assert not checkchar.is_valid(junk) or set(junk) <= set(ALPHABET)
    if not set(junk) <= set(ALPHABET):
        with pytest.raises(MalformedCode):
            checkchar.validate(junk)
        with pytest.raises(MalformedCode):
            checkchar.calc_check_symbol(junk)


@settings(max_examples=200)
@given(st.text(max_size=20))
def test_any_text_gives_bool_or_project_error(text: str) -> None:
    assert isinstance(checkchar.is_valid(text), bool)
    try:
        checkchar.validate(text)
    except (CodeTypo, MalformedCode):
        pass


codes = st.text(alphabet=ALPHABET, min_size=16, max_size=16)


@given(codes)
def test_parity_form_matches_the_damm_loop(code: str) -> None:
    """The decoder's check (five parities over the code as an integer) agrees with
    the symbol-by-symbol Damm loop on every code, valid or not."""
    from loyalcode.codegen.codec import _TO_RADIX32

    value = int(code.translate(_TO_RADIX32), 32)
    assert checkchar.is_valid_value(value) == checkchar.is_valid(code)


@given(payloads)
def test_parity_form_accepts_every_valid_code(payload: str) -> None:
    from loyalcode.codegen.codec import _TO_RADIX32

    code = payload + checkchar.calc_check_symbol(payload)
    assert checkchar.is_valid_value(int(code.translate(_TO_RADIX32), 32))
