"""Streams of label data for a batch: seq, code, payload, visible serial, in chunks.

Used by export and printing. Memory is bounded by ``chunk_size``, never by the batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from loyalcode.codegen.models import Batch
from loyalcode.codegen.payload import PayloadTemplate, filler
from loyalcode.codegen.visible import for_salt
from loyalcode.store.keys import Keyring

DEFAULT_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class LabelChunk:
    """Consecutive labels of one batch, starting at ``seq_start`` (1-based)."""

    seq_start: int
    codes: list[str]
    payloads: list[str]
    serials: list[str] | None

    def __len__(self) -> int:
        return len(self.codes)


def serial_chunks(
    batch: Batch, seq_from: int, seq_to: int, chunk_size: int
) -> Iterator[tuple[int, int, int]]:
    """``(seq_start, serial_start, count)`` for each chunk of an inclusive seq range."""
    seq = seq_from
    while seq <= seq_to:
        count = min(chunk_size, seq_to - seq + 1)
        yield seq, batch.serial_start + seq - 1, count
        seq += count


def iter_label_chunks(
    batch: Batch,
    keyring: Keyring,
    seq_from: int,
    seq_to: int,
    *,
    with_serial: bool,
    visible_salt: str,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[LabelChunk]:
    """Label data for seqs ``seq_from..seq_to`` (inclusive) of ``batch``."""
    import numpy as np

    from loyalcode.codegen.codec import derive_codes

    template = PayloadTemplate.parse(batch.payload_template, gtin=batch.gtin)
    need_serial = with_serial or template.uses_serial
    visible = for_salt(visible_salt) if need_serial else None
    fill = filler(template.bind(gtin=batch.gtin, batch=batch.id))
    for seq_start, serial_start, count in serial_chunks(batch, seq_from, seq_to, chunk_size):
        serials_np = np.arange(serial_start, serial_start + count, dtype=np.uint64)
        codes = derive_codes(keyring, serials_np)
        shown = (
            [visible.encode(s) for s in range(serial_start, serial_start + count)]
            if visible is not None
            else None
        )
        if shown is None:
            payloads = [fill(code=code) for code in codes]
        else:
            payloads = [fill(code=code, serial=serial) for code, serial in zip(codes, shown)]
        yield LabelChunk(
            seq_start=seq_start,
            codes=codes,
            payloads=payloads,
            serials=shown if with_serial else None,
        )
