"""QR symbols: matrices that decode, version per run, the mask penalty."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalcode.printing.errors import InvalidEcLevel, PayloadTooLong
from loyalcode.printing.qr import QUIET_ZONE, QrEncoder, choose_version, encode, penalty, version_of
from tests.printing.support import URL, synthetic_chunks


def _decode(matrix: np.ndarray, scale: int = 4) -> str:
    image = np.pad(matrix, QUIET_ZONE).repeat(scale, 0).repeat(scale, 1)
    (found,) = zxingcpp.read_barcodes(np.where(image, 0, 255).astype(np.uint8))
    return found.text


@pytest.mark.parametrize("ec", ["L", "M", "Q", "H"])
def test_matrix_decodes(ec: str) -> None:
    payload = URL + "7KX49QPM2HDF8W3T"
    assert _decode(encode(payload, ec=ec)) == payload


def test_uppercase_payload_uses_smaller_symbol_than_lowercase() -> None:
    upper = "HTTPS://LC.EXAMPLE.COM/01/09506000134352/C/7KX49QPM2HDF8W3T"
    assert choose_version([upper]) < choose_version([upper.lower()])


def test_version_is_for_the_longest_payload() -> None:
    short, long = URL + "A", URL + "A" * 60
    assert choose_version([short, long]) == version_of(encode(long))


def test_encoder_fixed_version_and_mask_decodes_all() -> None:
    payloads = [p for c in synthetic_chunks(60) for p in c.payloads]
    encoder = QrEncoder(choose_version(payloads), "M", sample=payloads[:32])
    assert encoder.mask is not None
    symbols = encoder.encode_many(payloads)
    assert symbols.shape == (60, encoder.size, encoder.size) and symbols.dtype == bool
    assert [_decode(s) for s in symbols] == payloads


def test_payload_too_long_for_run_version() -> None:
    encoder = QrEncoder(2, "M")
    with pytest.raises(PayloadTooLong):
        encoder.encode_many([URL + "X" * 200])


def test_bad_ec_level() -> None:
    with pytest.raises(InvalidEcLevel):
        encode("X", ec="Z")


def _reference_penalty(m: np.ndarray) -> int:
    """ISO 18004 penalty written plainly, one module at a time."""
    n = m.shape[0]
    total = 0
    for grid in (m, m.T):
        for row in grid:
            run = 1
            for a, b in itertools.pairwise(row):
                if a == b:
                    run += 1
                else:
                    total += run - 2 if run >= 5 else 0
                    run = 1
            total += run - 2 if run >= 5 else 0
    for y in range(n - 1):
        for x in range(n - 1):
            if m[y, x] == m[y + 1, x] == m[y, x + 1] == m[y + 1, x + 1]:
                total += 3
    core = [1, 0, 1, 1, 1, 0, 1]
    padded = np.pad(m, 4).astype(int)
    for grid in (padded, padded.T):
        for row in grid:
            r = list(row)
            for i in range(len(r) - 10):
                w = r[i: i + 11]
                if w[4:] == core and w[:4] == [0] * 4:
                    total += 40
                if w[:7] == core and w[7:] == [0] * 4:
                    total += 40
    dark = int(m.sum()) * 100 // (n * n)
    return total + 10 * (abs(dark - 50) // 5)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from([21, 25, 29]))
def test_penalty_matches_plain_reference(seed: int, n: int) -> None:
    m = np.random.default_rng(seed).random((n, n)) < 0.5
    assert penalty(m[None])[0] == _reference_penalty(m)
