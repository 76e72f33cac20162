"""Visible serials (明码): hashids of the global serial with the deployment's salt.

Printed beside the hidden code for logistics and customer service. It never
redeems and claims no secrecy; it is computed on demand and never stored. The salt
is random per deployment and kept in the database (it is not secret).
"""

from __future__ import annotations

from functools import lru_cache

from loyalcode.errors import InvalidInput

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MIN_LENGTH = 8


class VisibleSerials:
    """Encoder and decoder of visible serials for one deployment salt."""

    __slots__ = ("_hashids",)

    def __init__(self, salt: str) -> None:
        from hashids import Hashids

        self._hashids = Hashids(salt=salt, min_length=MIN_LENGTH, alphabet=ALPHABET)

    def encode(self, serial: int) -> str:
        """The visible serial of a global serial number."""
        return self._hashids.encode(serial)

    def decode(self, text: str) -> int:
        """The global serial of a visible serial, or :class:`InvalidInput` (whose
        message does not repeat ``text``: it may be a hidden code typed in the wrong box)."""
        values: tuple[int, ...] = self._hashids.decode(text.strip().upper()) if text else ()
        if len(values) != 1 or self._hashids.encode(values[0]) != text.strip().upper():
            raise InvalidInput("That is not a visible serial (明码) of this deployment.")
        return int(values[0])


@lru_cache(maxsize=4)
def for_salt(salt: str) -> VisibleSerials:
    """A cached encoder for ``salt``."""
    return VisibleSerials(salt)
