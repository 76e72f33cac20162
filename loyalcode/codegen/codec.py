"""Keyed derivation of hidden codes from serial numbers, and its reverse.

The construction, in the way of SIV (deterministic authenticated encryption)::

    tag  = F1(s)              40 bits, authenticates the serial
    body = s XOR F2(tag)      35 bits, hides the serial
    code = body ‖ tag ‖ check 7 + 8 + 1 symbols of Crockford base32

Decoding reverses it: check symbol, split, ``s = body XOR F2(tag)``, then compare
``F1(s)`` with the tag in constant time. A random well-formed code passes with
probability 2^-40 whatever the number of codes issued, and nothing but the key can
produce or open a code. Distinct serials give distinct codes (``s`` is recoverable
from the code), so codes are unique by construction.

This construction is frozen once codes are printed: ``tests/codegen/vectors.json``
pins it with known-answer vectors.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import TYPE_CHECKING

from loyalcode.codegen import checkchar
from loyalcode.codegen.codeformat import (
    ALPHABET,
    ALPHABET_BYTES,
    BODY_SYMBOLS,
    CODE_LENGTH,
    MAX_SERIAL,
    PAYLOAD_SYMBOLS,
    TAG_SYMBOLS,
    is_canonical,
)
from loyalcode.codegen.errors import CodeTypo, ForgedCode, MalformedCode
from loyalcode.codegen.normalize import normalize_scan
from loyalcode.errors import InvalidInput
from loyalcode.store.keys import Keyring

if TYPE_CHECKING:
    import numpy as np


def _symbols(value: int, count: int) -> list[int]:
    return [(value >> (5 * (count - 1 - i))) & 31 for i in range(count)]


def encode(keyring: Keyring, serial: int) -> str:
    """The canonical 16-symbol code of one serial."""
    if not 0 <= serial <= MAX_SERIAL:
        raise InvalidInput(f"Serial out of range 0..{MAX_SERIAL}.")
    tag = keyring.tag(serial)
    body = serial ^ keyring.mask(tag)
    values = _symbols(body, BODY_SYMBOLS) + _symbols(tag, TAG_SYMBOLS)
    text = "".join(ALPHABET[v] for v in values)
    return text + checkchar.calc_check_symbol(text)


#: The code alphabet onto Python's radix-32 digits, so ``int(..., 32)`` reads symbols in C.
_TO_RADIX32 = str.maketrans(ALPHABET, "0123456789ABCDEFGHIJKLMNOPQRSTUV")


def open_code(keyring: Keyring, code: str) -> int:
    """The serial of a canonical code, or :class:`CodeTypo` / :class:`ForgedCode`.

    Reads no code state: a forged or random code costs two AES blocks and no query.
    Anything but 16 symbols of the alphabet is :class:`MalformedCode` (normalise
    scans with :func:`decode_scan`).
    """
    if not is_canonical(code):
        raise MalformedCode(reason=f"a code has {CODE_LENGTH} symbols of the code alphabet")
    return _open_canonical(keyring, code)


_TAG_MASK = (1 << (5 * TAG_SYMBOLS)) - 1


def _open_canonical(keyring: Keyring, code: str) -> int:
    """:func:`open_code` for a code already known to be canonical: the 16 symbols read
    as one integer (in C), the check symbol as five parities, then the two PRFs."""
    value = int(code.translate(_TO_RADIX32), 32)
    if not checkchar.is_valid_value(value):
        raise CodeTypo()
    body, tag = value >> (5 * (TAG_SYMBOLS + 1)), (value >> 5) & _TAG_MASK
    serial = body ^ keyring.mask(tag)
    expected = keyring.tag(serial)
    if not hmac.compare_digest(expected.to_bytes(5, "big"), tag.to_bytes(5, "big")):
        raise ForgedCode()
    return serial


def decode_scan(keyring: Keyring, scan: str) -> tuple[str, int]:
    """Normalise a scan and open it: ``(canonical code, serial)``.

    Raises :class:`MalformedCode`, :class:`CodeTypo` or :class:`ForgedCode`.
    """
    code = normalize_scan(scan)  # canonical, or MalformedCode
    return code, _open_canonical(keyring, code)


# --- bulk ---------------------------------------------------------------------------


def derive_values(keyring: Keyring, serials: np.ndarray) -> np.ndarray:
    """Symbol values, an ``(n, 16)`` uint8 array, for a uint64 array of serials."""
    import numpy as np

    serials = np.ascontiguousarray(serials, dtype=np.uint64)
    tags = keyring.tags_np(serials)
    bodies = serials ^ keyring.masks_np(tags)
    out = np.empty((serials.shape[0], CODE_LENGTH), dtype=np.uint8)
    for i in range(BODY_SYMBOLS):
        out[:, i] = (bodies >> np.uint64(5 * (BODY_SYMBOLS - 1 - i))) & np.uint64(31)
    for i in range(TAG_SYMBOLS):
        out[:, BODY_SYMBOLS + i] = (tags >> np.uint64(5 * (TAG_SYMBOLS - 1 - i))) & np.uint64(31)
    out[:, PAYLOAD_SYMBOLS] = checkchar.check_symbols_np(out[:, :PAYLOAD_SYMBOLS])
    return out


def derive_chars(keyring: Keyring, serials: np.ndarray) -> np.ndarray:
    """ASCII codes, an ``(n, 16)`` uint8 array of characters, for serials."""
    import numpy as np

    alphabet = np.frombuffer(ALPHABET_BYTES, dtype=np.uint8)
    return alphabet[derive_values(keyring, serials)]


def derive_codes(keyring: Keyring, serials: np.ndarray) -> list[str]:
    """Canonical codes as a list of str (for modest counts: labels, tests)."""
    chars = derive_chars(keyring, serials)
    raw = chars.tobytes().decode("ascii")
    return [raw[i : i + CODE_LENGTH] for i in range(0, len(raw), CODE_LENGTH)]


#: Outcome values of :func:`open_many`.
OK, TYPO, FORGED = 0, 1, 2


def open_many(keyring: Keyring, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open an ``(n, 16)`` uint8 array of canonical code characters at once.

    Returns ``(status, serials)``: status per row is :data:`OK`, :data:`TYPO` or
    :data:`FORGED`; serials are meaningful where status is OK. The tag comparison is
    vectorised (equality of whole arrays), so its timing does not depend on any
    one code.
    """
    import numpy as np

    lookup = np.full(256, 255, dtype=np.uint8)
    lookup[np.frombuffer(ALPHABET_BYTES, dtype=np.uint8)] = np.arange(32, dtype=np.uint8)
    values = lookup[codes]
    if (values == 255).any():
        raise MalformedCode(reason="a character outside the code alphabet")
    status = np.where(checkchar.interim_np(values) == 0, OK, TYPO).astype(np.uint8)
    v64 = values.astype(np.uint64)
    bodies = np.zeros(codes.shape[0], dtype=np.uint64)
    for i in range(BODY_SYMBOLS):
        bodies = (bodies << np.uint64(5)) | v64[:, i]
    tags = np.zeros(codes.shape[0], dtype=np.uint64)
    for i in range(BODY_SYMBOLS, PAYLOAD_SYMBOLS):
        tags = (tags << np.uint64(5)) | v64[:, i]
    serials = bodies ^ keyring.masks_np(tags)
    forged = keyring.tags_np(serials) != tags
    status[(status == OK) & forged] = FORGED
    return status, serials


def codes_for_range(keyring: Keyring, start: int, stop: int) -> Iterable[str]:
    """Canonical codes of serials ``start..stop-1`` (small ranges; tests and tools)."""
    import numpy as np

    return derive_codes(keyring, np.arange(start, stop, dtype=np.uint64))


__all__ = [
    "CodeTypo",
    "ForgedCode",
    "MalformedCode",
    "codes_for_range",
    "decode_scan",
    "derive_chars",
    "derive_codes",
    "derive_values",
    "encode",
    "open_code",
    "open_many",
]
