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


def _interim(values: "list[int] | bytes") -> int:
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


def is_valid(code: str) -> bool:
    """True when ``code`` (canonical symbols, check symbol last) passes the check."""
    try:
        return _interim([_VALUE[c] for c in code]) == 0
    except KeyError:
        return False


def validate(code: str) -> str:
    """Return ``code`` if its check symbol is right; raise :class:`CodeTypo` if not."""
    if not is_valid(code):
        if any(c not in _VALUE for c in code):
            raise MalformedCode(reason="a character outside the code alphabet")
        raise CodeTypo()
    return code


# --- vectorised (numpy) forms for bulk work -----------------------------------------


def interim_np(values: "np.ndarray") -> "np.ndarray":
    """Damm interim per row of an ``(n, k)`` uint8 array of symbol values: zero for a
    whole code whose check passes."""
    import numpy as np

    double = np.array(DOUBLE, dtype=np.uint8)
    interim = np.zeros(values.shape[0], dtype=np.uint8)
    for j in range(values.shape[1]):
        interim = double[interim] ^ values[:, j]
    return interim


def check_symbols_np(values: "np.ndarray") -> "np.ndarray":
    """Check-symbol values for an ``(n, k)`` uint8 array of payload symbol values."""
    import numpy as np

    return np.array(DOUBLE, dtype=np.uint8)[interim_np(values)]
