"""Visible serials (明码): hashids of the global serial with the deployment's salt.

Printed beside the hidden code for logistics and customer service. It never
redeems and claims no secrecy; it is computed on demand and never stored. The salt
is random per deployment and kept in the database (it is not secret).

An operator names a label by what is printed on it: :func:`parse_position` reads a
sequence number or a visible serial (the ``--from``/``--to`` of ``activate``, ``print``
and ``export``), with one rule for the texts that could be both.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from loyalcode.codegen.errors import RangeOutsideBatch
from loyalcode.errors import InvalidInput

if TYPE_CHECKING:
    from loyalcode.codegen.models import Batch

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


_VISIBLE_CHARS = frozenset(ALPHABET)
_MAX_VISIBLE = 20  # far above the length of any serial's hashids; bounds the decode
_MAX_DIGITS = 18


def decode_visible(value: str, serials: VisibleSerials) -> int | None:
    """The global serial of a visible serial, or ``None`` when ``value`` is none."""
    upper = value.upper()
    if not MIN_LENGTH <= len(upper) <= _MAX_VISIBLE or not set(upper) <= _VISIBLE_CHARS:
        return None
    try:
        return serials.decode(upper)
    except InvalidInput:
        return None


def parse_position(
    text: str, batch: Batch, serials: VisibleSerials, *, name: str = "position"
) -> int:
    """The sequence number (from 1) that ``text`` names in ``batch``: either the number
    itself (ASCII decimal digits) or the visible serial (明码) printed on one of the
    batch's packages.

    Some visible serials are all digits. A decimal text that is a sequence number of
    the batch and also the visible serial of one of its codes is refused as ambiguous
    (a leading ``0`` makes it a sequence number: no visible serial has a ``0``);
    otherwise the one reading that falls inside the batch is taken. A sequence number
    outside the batch is returned as it is, for
    :func:`~loyalcode.codegen.batches.seq_range` to refuse. ``name`` (``FROM``,
    ``--to``) says which field is meant in messages, which never repeat unrecognised
    text (it might be a hidden code pasted by mistake).
    """
    value = text.strip()
    decimal = value.isascii() and value.isdecimal()
    if decimal and len(value.lstrip("0")) > _MAX_DIGITS:
        raise RangeOutsideBatch(
            f"{name} {value} is outside batch {batch.id} (1..{batch.quantity}).",
            batch=batch.id, quantity=batch.quantity,
        )
    seq = int(value) if decimal else None
    serial = decode_visible(value, serials)
    shown = (
        batch.seq_of(serial)
        if serial is not None and batch.serial_start <= serial < batch.serial_end
        else None
    )
    if seq is not None and 1 <= seq <= batch.quantity:
        if shown is not None:
            raise InvalidInput(
                f"{name} {value} is both sequence number {seq} and the visible serial of "
                f"sequence number {shown} of batch {batch.id}: "
                f"write 0{value} for the sequence number."
            )
        return seq
    if serial is None:
        if seq is not None:
            return seq
        raise InvalidInput(
            f"{name} is neither a sequence number nor a visible serial of this deployment."
            if value else f"{name} is empty: give a sequence number or a visible serial."
        )
    if shown is None:
        raise RangeOutsideBatch(
            f"{name} {value.upper()} is the visible serial of serial {serial}, which is not "
            f"in batch {batch.id} (serials {batch.serial_start}..{batch.serial_end - 1}).",
            batch=batch.id, quantity=batch.quantity,
        )
    return shown


def position_range(
    batch: Batch, first: str | None, last: str | None, serials: VisibleSerials
) -> tuple[int | None, int | None]:
    """``--from``/``--to`` texts (``None``: not given) as sequence numbers, by
    :func:`parse_position`; :func:`~loyalcode.codegen.batches.seq_range` then checks
    the range and fills in what was not given."""
    return (
        None if first is None else parse_position(first, batch, serials, name="--from"),
        None if last is None else parse_position(last, batch, serials, name="--to"),
    )
