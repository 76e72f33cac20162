"""Keyed derivation of codes: round trips, known answers, scalar/vector agreement,
forged and random codes rejected with the key alone (no database at all)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalcode.codegen import checkchar, codec
from loyalcode.codegen.codeformat import ALPHABET, ALPHABET_BYTES, MAX_SERIAL, group
from loyalcode.codegen.errors import CodeTypo, ForgedCode, MalformedCode
from loyalcode.codegen.visible import VisibleSerials
from loyalcode.errors import InvalidInput
from loyalcode.store.keys import Keyring
from tests.conftest import TEST_KEY

RING = Keyring(bytes.fromhex(TEST_KEY))  # a module constant: hypothesis tests take no fixtures
VECTORS = json.loads((Path(__file__).with_name("vectors.json")).read_text())
serials = st.integers(0, MAX_SERIAL)


def _vector_cases() -> list[tuple[str, int, str, int]]:
    return [
        (k["key"], v["serial"], v["code"], v["tag"]) for k in VECTORS["keys"] for v in k["vectors"]
    ]


# --- known answers ----------------------------------------------------------------


def test_vectors_cover_several_keys_and_edge_serials() -> None:
    assert len(VECTORS["keys"]) >= 4
    for k in VECTORS["keys"]:
        got = {v["serial"] for v in k["vectors"]}
        assert {0, 1, MAX_SERIAL} <= got


@pytest.mark.parametrize("key,serial,code,tag", _vector_cases())
def test_known_answer_vectors(key: str, serial: int, code: str, tag: int) -> None:
    ring = Keyring(bytes.fromhex(key))
    assert codec.encode(ring, serial) == code
    assert codec.open_code(ring, code) == serial
    assert codec.decode_scan(ring, group(code).lower()) == (code, serial)
    assert ring.tag(serial) == tag


@pytest.mark.parametrize("entry", VECTORS["keys"], ids=lambda e: e["label"])
def test_known_answer_vectors_bulk_and_fingerprint(entry: dict) -> None:
    ring = Keyring(bytes.fromhex(entry["key"]))
    assert ring.fingerprint == entry["fingerprint"]
    s = np.array([v["serial"] for v in entry["vectors"]], dtype=np.uint64)
    assert codec.derive_codes(ring, s) == [v["code"] for v in entry["vectors"]]
    assert [int(t) for t in ring.tags_np(s)] == [v["tag"] for v in entry["vectors"]]


def test_visible_serial_vectors() -> None:
    vis = VisibleSerials(VECTORS["visible_serials"]["salt"])
    for v in VECTORS["visible_serials"]["vectors"]:
        assert vis.encode(v["serial"]) == v["visible"]
        assert vis.decode(v["visible"]) == v["serial"]


def _reference_encode(key: bytes, serial: int) -> str:
    """The construction written out from DESIGN.md with `cryptography` directly."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    def sub(label: bytes) -> bytes:
        return hashlib.blake2b(b"", key=key, person=label, digest_size=32).digest()

    def aes(k: bytes, value: int) -> bytes:
        enc = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
        return enc.update(value.to_bytes(16, "big")) + enc.finalize()

    tag = int.from_bytes(aes(sub(b"loyalcode.F1.tag"), serial)[:5], "big")  # 40 bits
    mask = int.from_bytes(aes(sub(b"loyalcode.F2.msk"), tag)[:5], "big") >> 5  # 35 bits
    value = ((serial ^ mask) << 40) | tag  # body ‖ tag, 75 bits
    payload = "".join(ALPHABET[(value >> (5 * (14 - i))) & 31] for i in range(15))
    interim = 0
    for c in payload:
        interim = checkchar.DOUBLE[interim] ^ ALPHABET.index(c)
    return payload + ALPHABET[checkchar.DOUBLE[interim]]


@pytest.mark.parametrize("case", _vector_cases()[::7])
def test_reference_construction_matches(case: tuple[str, int, str, int]) -> None:
    key, serial, code, _ = case
    assert _reference_encode(bytes.fromhex(key), serial) == code


# --- round trips and consistency ----------------------------------------------------


@settings(max_examples=300)
@given(serials)
def test_round_trip(serial: int) -> None:
    code = codec.encode(RING, serial)
    assert len(code) == 16 and set(code) <= set(ALPHABET) and checkchar.is_valid(code)
    assert codec.open_code(RING, code) == serial
    assert codec.decode_scan(RING, group(code)) == (code, serial)


@settings(max_examples=50)
@given(st.lists(serials, min_size=1, max_size=200))
def test_scalar_and_vector_agree(values: list[int]) -> None:
    arr = np.array(values, dtype=np.uint64)
    codes = codec.derive_codes(RING, arr)
    assert codes == [codec.encode(RING, s) for s in values]
    chars = codec.derive_chars(RING, arr)
    status, opened = codec.open_many(RING, chars)
    assert (status == codec.OK).all()
    assert opened.tolist() == values
    assert [codec.open_code(RING, c) for c in codes] == values


def test_derive_chars_and_values_agree(keyring: Keyring) -> None:
    s = np.arange(MAX_SERIAL - 2000, MAX_SERIAL + 1, dtype=np.uint64)
    values = codec.derive_values(keyring, s)
    chars = codec.derive_chars(keyring, s)
    assert (np.frombuffer(ALPHABET_BYTES, dtype=np.uint8)[values] == chars).all()
    assert list(codec.codes_for_range(keyring, MAX_SERIAL - 2000, MAX_SERIAL + 1)) == codec.derive_codes(
        keyring, s
    )


@pytest.mark.parametrize("serial", [-1, MAX_SERIAL + 1, 2**64])
def test_serial_out_of_range(keyring: Keyring, serial: int) -> None:
    with pytest.raises(InvalidInput):
        codec.encode(keyring, serial)


def test_different_keys_give_unrelated_codes(keyring: Keyring) -> None:
    other = Keyring(bytes(32))
    s = np.arange(0, 10_000, dtype=np.uint64)
    a, b = codec.derive_codes(keyring, s), codec.derive_codes(other, s)
    assert sum(x == y for x, y in zip(a, b)) == 0
    status, _ = codec.open_many(other, codec.derive_chars(keyring, s))
    assert (status == codec.FORGED).all()


# --- forged and random codes: the key alone decides, no database ----------------------


def _with_check(payload: str) -> str:
    return payload + checkchar.calc_check_symbol(payload)


@settings(max_examples=200)
@given(serials, st.integers(0, 14), st.integers(1, 31))
def test_forged_tag_or_body_rejected_without_a_database(
    serial: int, pos: int, delta: int
) -> None:
    """A valid check symbol over a changed body or tag is forged. Only a Keyring is
    involved here: there is no engine, session or URL anywhere in this test."""
    code = codec.encode(RING, serial)
    changed = code[:pos] + ALPHABET[(ALPHABET.index(code[pos]) + delta) % 32] + code[pos + 1 : 15]
    forged = _with_check(changed)
    with pytest.raises(ForgedCode):
        codec.open_code(RING, forged)
    with pytest.raises(ForgedCode):
        codec.decode_scan(RING, group(forged))
    typo = changed + code[15]  # same change, old check symbol: a typo first
    with pytest.raises(CodeTypo):
        codec.open_code(RING, typo)


def test_random_well_formed_codes_are_never_authentic(keyring: Keyring) -> None:
    """200,000 random codes with a correct check symbol: none opens (expected number
    of false accepts 200,000 / 2^40 ~ 2e-7)."""
    rng = np.random.default_rng(20261123)
    n = 200_000
    values = rng.integers(0, 32, size=(n, 16), dtype=np.uint8)
    values[:, 15] = checkchar.check_symbols_np(values[:, :15])
    chars = np.frombuffer(ALPHABET_BYTES, dtype=np.uint8)[values]
    status, _ = codec.open_many(keyring, chars)
    assert (status == codec.FORGED).all()
    for row in chars[:2000]:  # the scalar path agrees
        with pytest.raises(ForgedCode):
            codec.open_code(keyring, row.tobytes().decode())


def test_open_many_statuses(keyring: Keyring) -> None:
    good = codec.encode(keyring, 12345)
    typo = good[:3] + ("0" if good[3] != "0" else "1") + good[4:]
    forged = _with_check(good[:14] + ("0" if good[14] != "0" else "1"))
    arr = np.frombuffer((good + typo + forged).encode(), dtype=np.uint8).reshape(3, 16)
    status, serial = codec.open_many(keyring, arr)
    assert status.tolist() == [codec.OK, codec.TYPO, codec.FORGED]
    assert int(serial[0]) == 12345
    with pytest.raises(MalformedCode):
        codec.open_many(keyring, np.frombuffer(b"7KX49QPM2HDF8W3U", dtype=np.uint8).reshape(1, 16))


@pytest.mark.parametrize("bad", ["", "0", "00", "7KX4-9QPM-2HDF-8W3T", "7kx49qpm2hdf8w3t", "U" * 16])
def test_open_code_wants_canonical_input(keyring: Keyring, bad: str) -> None:
    with pytest.raises(MalformedCode):
        codec.open_code(keyring, bad)
