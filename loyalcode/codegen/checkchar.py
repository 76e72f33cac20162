"""Damm check symbol over GF(32).

The quasigroup ``x * y = 2·x + y`` in GF(2^5) (modulus x^5 + x^2 + 1) is totally
anti-symmetric, so the Damm scheme over it detects every single-symbol substitution
and every transposition of two adjacent symbols (including the check symbol itself).
Verbs follow python-stdnum: :func:`calc_check_symbol`, :func:`validate`,
:func:`is_valid`.

>>> calc_check_symbol("000000000000000")
'0'
>>> code = "7KX49QPM2HDF8W3"
>>> is_valid(code + calc_check_symbol(code))
True
>>> is_valid("7KX49QPM2HDF8W3" + "0") == (calc_check_symbol(code) == "0")
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalcode.codegen.codeformat import ALPHABET
from loyalcode.codegen.errors import CodeTypo, MalformedCode

if TYPE_CHECKING:
    import numpy as np

_MODULUS = 0b100101  # x^5 + x^2 + 1, primitive


def _times_two(x: int) -> int:
    x <<= 1
    if x & 0b100000:
        x ^= _MODULUS
    return x


#: DOUBLE[x] = 2·x in GF(32); the Damm table is TABLE[i][d] = DOUBLE[i] ^ d.
DOUBLE: tuple[int, ...] = tuple(_times_two(x) for x in range(32))
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def _interim(values: list[int] | bytes) -> int:
    interim = 0
    for v in values:
        interim = DOUBLE[interim] ^ v
    return interim


def calc_check_symbol(symbols: str) -> str:
    """The check symbol that makes ``symbols + check`` valid."""
    try:
        values = [_VALUE[c] for c in symbols]
    except KeyError:
        raise MalformedCode(reason="a character outside the code alphabet") from None
    return ALPHABET[DOUBLE[_interim(values)]]


#: ASCII byte → symbol value (``bytes.translate``: the lookup runs in C); 0xFF for a
#: byte outside the alphabet.
_VALUE_BYTES = bytes(_VALUE.get(chr(b), 0xFF) for b in range(256))


def is_valid(code: str) -> bool:
    """True when ``code`` (canonical symbols, check symbol last) passes the check."""
    if not code.isascii():
        return False
    values = code.encode("ascii").translate(_VALUE_BYTES)
    if 0xFF in values:
        return False
    return _interim(values) == 0


def _parity_masks(length: int) -> tuple[int, ...]:
    """The Damm interim of ``length`` symbols is linear over GF(2) in their bits
    (doubling in GF(32) is a shift and a conditional XOR). Read the symbols as one
    integer, most significant first, 5 bits each: interim bit ``k`` is the parity of
    the bits under mask ``k``."""
    masks = [0] * 5
    for pos in range(length):
        shift = 5 * (length - 1 - pos)  # where the symbol sits in the integer
        for bit in range(5):
            x = 1 << bit
            for _ in range(length - 1 - pos):  # the doublings that follow it
                x = DOUBLE[x]
            for out in range(5):
                if x >> out & 1:
                    masks[out] |= 1 << (shift + bit)
    return tuple(masks)


_M0, _M1, _M2, _M3, _M4 = _parity_masks(16)


def is_valid_value(value: int) -> bool:
    """:func:`is_valid` for a 16-symbol code given as its 80-bit integer (symbol
    values, most significant first): five parities, no loop over symbols."""
    return not (
        (value & _M0).bit_count() & 1
        or (value & _M1).bit_count() & 1
        or (value & _M2).bit_count() & 1
        or (value & _M3).bit_count() & 1
        or (value & _M4).bit_count() & 1
    )


def validate(code: str) -> str:
    """Return ``code`` if its check symbol is right; raise :class:`CodeTypo` if not."""
    if not is_valid(code):
        if any(c not in _VALUE for c in code):
            raise MalformedCode(reason="a character outside the code alphabet")
        raise CodeTypo()
    return code


# --- vectorised (numpy) forms for bulk work -----------------------------------------


def interim_np(values: np.ndarray) -> np.ndarray:
    """Damm interim per row of an ``(n, k)`` uint8 array of symbol values: zero for a
    whole code whose check passes."""
    import numpy as np

    double = np.array(DOUBLE, dtype=np.uint8)
    interim = np.zeros(values.shape[0], dtype=np.uint8)
    for j in range(values.shape[1]):
        interim = double[interim] ^ values[:, j]
    return interim


def check_symbols_np(values: np.ndarray) -> np.ndarray:
    """Check-symbol values for an ``(n, k)`` uint8 array of payload symbol values."""
    import numpy as np

    return np.array(DOUBLE, dtype=np.uint8)[interim_np(values)]
