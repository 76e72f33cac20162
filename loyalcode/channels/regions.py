"""Chinese administrative division codes (GB/T 2260) as channel and scan regions.

2 digits name a province (``31`` Shanghai, ``44`` Guangdong), 4 a city (``4401``
Guangzhou), 6 a county. A 6-digit code with trailing zero pairs is shortened to its
level (``310000`` → ``31``, ``440100`` → ``4401``). A region contains every region it
is a prefix of.

>>> normalize_region("310000"), normalize_region("440100"), normalize_region("440106")
('31', '4401', '440106')
>>> contains("44", "4401"), contains("4401", "31")
(True, False)
"""

from __future__ import annotations

from loyalcode.channels.errors import InvalidRegion

_DIGITS = frozenset("0123456789")


def normalize_region(value: str) -> str:
    """The canonical form of a region code, or :class:`InvalidRegion`."""
    text = value.strip() if isinstance(value, str) else ""
    if len(text) not in (2, 4, 6) or not set(text) <= _DIGITS or text[:2] == "00":
        raise InvalidRegion(value=value)
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return text


def contains(outer: str, inner: str) -> bool:
    """True when region ``inner`` lies within region ``outer`` (both canonical)."""
    return inner.startswith(outer)
