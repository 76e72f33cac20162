"""The printed form of a hidden code.

A code is 16 symbols of Crockford base32 (``0123456789ABCDEFGHJKMNPQRSTVWXYZ``):
7 symbols of body (35 bits), 8 symbols of tag (40 bits) and one check symbol, printed
in groups of four: ``7KX4-9QPM-2HDF-8W3T``.

>>> group("7KX49QPM2HDF8W3T")
'7KX4-9QPM-2HDF-8W3T'
>>> to_int(ALPHABET[31]), ALPHABET[to_int("Z")]
(31, 'Z')
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ALPHABET_BYTES = ALPHABET.encode("ascii")
BODY_SYMBOLS = 7  # 35 bits: the serial, masked
TAG_SYMBOLS = 8  # 40 bits: the authenticator
PAYLOAD_SYMBOLS = BODY_SYMBOLS + TAG_SYMBOLS  # 15
CODE_LENGTH = PAYLOAD_SYMBOLS + 1  # 16 with the check symbol
GROUP = 4
GROUPED_LENGTH = CODE_LENGTH + CODE_LENGTH // GROUP - 1  # 19
SERIAL_BITS = 35
TAG_BITS = 40
MAX_SERIAL = (1 << SERIAL_BITS) - 1

_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def to_int(symbol: str) -> int:
    """The 5-bit value of one canonical symbol (raises ``KeyError`` for others)."""
    return _VALUE[symbol]


def group(code: str) -> str:
    """A canonical 16-symbol code in printed groups of four."""
    if len(code) == CODE_LENGTH:  # the common case, without a generator
        return f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}"
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def is_canonical(code: str) -> bool:
    """True when ``code`` is 16 symbols of the alphabet (says nothing of the check)."""
    return len(code) == CODE_LENGTH and all(c in _VALUE for c in code)
