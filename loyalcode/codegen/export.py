"""Export a batch's codes as CSV or TXT for inkjet/laser coders, streaming in chunks.

CSV: header ``seq,code,payload`` (``seq,code,serial,payload`` with the visible
serial); codes in printed groups of four. TXT: one payload per line.

The hot path builds each chunk's lines as one fixed-width numpy byte matrix (seq
digits, code symbols, template literals) and writes it with one call: no Python
object per code. Seqs of one digit count are contiguous, so a chunk splits into at
most a few fixed-width blocks. The visible serial (hashids, ~80,000/s) is variable
width and takes a per-line path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sized
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, cast

from loyalcode.codegen.codeformat import CODE_LENGTH, GROUP, group
from loyalcode.codegen.labels import serial_chunks
from loyalcode.codegen.models import Batch
from loyalcode.codegen.payload import PayloadTemplate, filler
from loyalcode.codegen.visible import for_salt
from loyalcode.errors import InvalidInput
from loyalcode.store.keys import Keyring

if TYPE_CHECKING:
    import numpy as np

FORMATS = ("csv", "txt")
EXPORT_CHUNK = 65_536  # same speed as 262,144 here, and peak RSS 84 MB instead of 148 MB


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote."""

    batch: int
    seq_from: int
    seq_to: int
    count: int
    format: str
    bytes: int


def _csv_field_parts(parts: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Quote the payload field if a literal holds a comma (codes never do)."""
    if any(kind == "lit" and "," in v for kind, v in parts):
        return (("lit", '"'), *parts, ("lit", '"'))
    return parts


def _grouped_columns() -> list[int]:
    """Source column of each character of the grouped code (-1 for a hyphen)."""
    cols: list[int] = []
    for i in range(CODE_LENGTH):
        if i and i % GROUP == 0:
            cols.append(-1)
        cols.append(i)
    return cols


def _fixed_block(
    layout: list[tuple[str, object]], seqs_start: int, digits: int, chars: np.ndarray
) -> bytes:
    """Lines for consecutive seqs that all have ``digits`` digits."""
    import numpy as np

    n = chars.shape[0]
    width = sum(digits if kind == "seq" else len(cast(Sized, value)) for kind, value in layout)
    out = np.empty((n, width), dtype=np.uint8)
    col = 0
    seqs = np.arange(seqs_start, seqs_start + n, dtype=np.int64)
    for kind, value in layout:
        if kind == "lit":
            lit = np.frombuffer(cast(bytes, value), dtype=np.uint8)
            out[:, col : col + lit.size] = lit
            col += lit.size
        elif kind == "seq":
            for d in range(digits):
                out[:, col + d] = (seqs // 10 ** (digits - 1 - d)) % 10 + 48
            col += digits
        else:  # "code": a list of source columns, -1 for '-'
            for src in value:  # type: ignore[attr-defined]
                out[:, col] = 45 if src < 0 else chars[:, src]
                col += 1
    return out.tobytes()


def _layout(fmt: str, parts: tuple[tuple[str, str], ...]) -> list[tuple[str, object]]:
    plain = list(range(CODE_LENGTH))
    layout: list[tuple[str, object]] = []
    if fmt == "csv":
        layout += [("seq", None), ("lit", b","), ("code", _grouped_columns()), ("lit", b",")]
        parts = _csv_field_parts(parts)
    for kind, value in parts:
        if kind == "lit":
            layout.append(("lit", value.encode("utf-8")))
        else:
            layout.append(("code", plain))
    layout.append(("lit", b"\n"))
    merged: list[tuple[str, object]] = []
    for kind, item in layout:
        if kind == "lit" and merged and merged[-1][0] == "lit":
            merged[-1] = ("lit", cast(bytes, merged[-1][1]) + cast(bytes, item))
        else:
            merged.append((kind, item))
    return merged


def iter_export(
    batch: Batch,
    keyring: Keyring,
    *,
    fmt: str,
    seq_from: int,
    seq_to: int,
    with_serial: bool,
    visible_salt: str,
    chunk_size: int = EXPORT_CHUNK,
) -> Iterator[tuple[int, bytes]]:
    """``(codes in chunk, bytes)`` pieces of the export, header first (count 0)."""
    from loyalcode.codegen.codec import derive_chars

    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}: use csv or txt.")
    template = PayloadTemplate.parse(batch.payload_template, gtin=batch.gtin)
    parts = template.bind(gtin=batch.gtin, batch=batch.id)
    slow = with_serial or template.uses_serial
    if fmt == "csv":
        yield 0, (b"seq,code,serial,payload\n" if with_serial else b"seq,code,payload\n")
    if not slow:
        layout = _layout(fmt, parts)
        import numpy as np

        for seq_start, serial_start, count in serial_chunks(batch, seq_from, seq_to, chunk_size):
            chars = derive_chars(keyring, np.arange(serial_start, serial_start + count, dtype=np.uint64))
            pieces = []
            offset = 0
            while offset < count:
                first = seq_start + offset
                digits = len(str(first))
                block_end = min(count, 10**digits - seq_start)
                pieces.append(_fixed_block(layout, first, digits, chars[offset:block_end]))
                offset = block_end
            yield count, b"".join(pieces)
        return
    yield from _iter_slow(batch, keyring, fmt, parts, seq_from, seq_to, with_serial, visible_salt, chunk_size)


def _iter_slow(
    batch: Batch,
    keyring: Keyring,
    fmt: str,
    parts: tuple[tuple[str, str], ...],
    seq_from: int,
    seq_to: int,
    with_serial: bool,
    visible_salt: str,
    chunk_size: int,
) -> Iterator[tuple[int, bytes]]:
    import numpy as np

    from loyalcode.codegen.codec import derive_codes

    visible = for_salt(visible_salt)
    if fmt == "csv":
        parts = _csv_field_parts(parts)
    chunk_size = min(chunk_size, 16384)
    fill = filler(parts)
    for seq_start, serial_start, count in serial_chunks(batch, seq_from, seq_to, chunk_size):
        codes = derive_codes(keyring, np.arange(serial_start, serial_start + count, dtype=np.uint64))
        lines = []
        for i, code in enumerate(codes):
            shown = visible.encode(serial_start + i)
            payload = fill(code=code, serial=shown)
            if fmt == "txt":
                lines.append(payload)
                continue
            grouped = group(code)
            if with_serial:
                lines.append(f"{seq_start + i},{grouped},{shown},{payload}")
            else:
                lines.append(f"{seq_start + i},{grouped},{payload}")
        yield count, ("\n".join(lines) + "\n").encode("utf-8")


def write_export(
    pieces: Iterator[tuple[int, bytes]], out: IO[bytes], on_progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Write export pieces to ``out``; return ``(codes, bytes)``."""
    codes = total = 0
    for count, data in pieces:
        out.write(data)
        codes += count
        total += len(data)
        if on_progress is not None and count:
            on_progress(count)
    return codes, total
