"""``print --split N``: one output per N labels, each complete on its own.

A batch of millions is one file too large to send to a printer (a 2 M-label PDF is
about 8 GB). Split, the labels of seqs ``from..from+N-1`` go to ``OUT-0001``, the next
N to ``OUT-0002``, and so on (``batch1.pdf`` → ``batch1-0001.pdf``; a PNG directory
``pages`` → ``pages-0001/`` holding ``page-00001.png``, ...). Each part is written by
:func:`~loyalcode.printing.run.print_labels`, so each is atomic: it appears under its
name only when complete, and an interrupted run leaves the finished parts (each a whole
print job, listed by the seqs it holds) and nothing half-written. Every part has the
run's geometry (one QR version, one layout). On sheets a part is a whole number of
pages, so no sheet is left part-printed in the middle of a run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from loyalcode.printing.errors import InvalidSplit, PayloadTooLong
from loyalcode.printing.layout import SheetSpec
from loyalcode.printing.run import (
    LabelChunkLike,
    PartFile,
    PrintOptions,
    PrintResult,
    prepare,
    print_labels,
)
from loyalcode.printing.templates import Template


def part_path(out: str | os.PathLike[str], number: int, fmt: str) -> Path:
    """Name of part ``number`` (1-based) of ``out``.

    >>> str(part_path("runs/batch1.pdf", 2, "pdf")), str(part_path("pages", 12, "png"))
    ('runs/batch1-0002.pdf', 'pages-0012')
    """
    out = Path(out)
    if fmt == "png":
        return out.with_name(f"{out.name}-{number:04d}")
    return out.with_name(f"{out.stem}-{number:04d}{out.suffix}")


def check_split(split: int, template: Template, fmt: str) -> int:
    """``split`` if it is a whole number of labels, of pages for sheet formats."""
    if isinstance(split, bool) or not isinstance(split, int) or split < 1:
        raise InvalidSplit(value=split, reason="give a whole number of labels, at least 1")
    per_page = template.labels_per_page
    if fmt != "zpl" and split % per_page:
        lower = split // per_page * per_page
        suggestion = f"{lower} or {lower + per_page}" if lower else str(per_page)
        raise InvalidSplit(
            value=split,
            reason=f"a part must be whole pages of {template.name} ({per_page} labels a page): "
                   f"use {suggestion}",
        )
    return split


@dataclass(slots=True)
class _Slice:  # not frozen: LabelChunkLike's members are plain attributes
    seq_start: int
    codes: Sequence[str]
    payloads: Sequence[str]
    serials: Sequence[str] | None


def _cut(chunk: LabelChunkLike, start: int, end: int) -> _Slice:
    return _Slice(
        chunk.seq_start + start, chunk.codes[start:end], chunk.payloads[start:end],
        chunk.serials[start:end] if chunk.serials is not None else None,
    )


def split_chunks(chunks: Iterable[LabelChunkLike], size: int) -> Iterator[Iterator[LabelChunkLike]]:
    """The chunks regrouped into parts of ``size`` labels (the last may be short).

    Each part is an iterator to be consumed before the next is asked for.
    """
    source = iter(chunks)
    carry: list[LabelChunkLike] = []

    def part(first: LabelChunkLike) -> Iterator[LabelChunkLike]:
        left = size
        chunk: LabelChunkLike | None = first
        while chunk is not None:
            count = len(chunk.codes)
            if count > left:
                yield _cut(chunk, 0, left)
                carry.append(_cut(chunk, left, count))
                return
            if count:
                yield chunk
            left -= count
            if left == 0:
                return
            chunk = next(source, None)

    while True:
        first = carry.pop() if carry else next(source, None)
        if first is None:
            return
        yield part(first)


def print_split(
    chunks: Iterable[LabelChunkLike],
    out: str | os.PathLike[str],
    options: PrintOptions,
    *,
    split: int,
    spec: SheetSpec | None = None,
    total: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> PrintResult:
    """Render ``chunks`` as parts of ``split`` labels named by :func:`part_path`.

    The result sums the parts; its ``files`` lists each part in order.
    """
    check_split(split, options.template, options.fmt)
    iterator = iter(chunks)
    first = next(iterator, None)
    if first is None:
        raise PayloadTooLong(length=0, reason="there are no labels to print")
    if spec is None:
        spec = prepare(options, first.payloads, first.serials)

    def all_chunks() -> Iterator[LabelChunkLike]:
        yield first
        yield from iterator

    results: list[PrintResult] = []
    left = total
    for number, part in enumerate(split_chunks(all_chunks(), split), start=1):
        result = print_labels(
            part, part_path(out, number, options.fmt), options, spec=spec,
            total=None if left is None else min(split, left), on_progress=on_progress,
        )
        results.append(result)
        if left is not None:
            left -= result.labels
    files = tuple(
        PartFile(path=r.path, labels=r.labels, pages=r.pages, seq_from=r.seq_from, seq_to=r.seq_to)
        for r in results
    )
    head, tail = results[0], results[-1]
    return PrintResult(
        path=str(out), format=head.format, template=head.template, dpi=head.dpi,
        pages=sum(r.pages for r in results), labels=sum(r.labels for r in results),
        seq_from=head.seq_from, seq_to=tail.seq_to, seconds=round(sum(r.seconds for r in results), 3),
        qr_version=head.qr_version, ec=head.ec, workers=max(r.workers for r in results), files=files,
    )
