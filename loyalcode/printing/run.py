"""Print runs: label data in, a PDF, a directory of PNG pages, or a ZPL file out.

:func:`print_labels` takes any iterable of label chunks (``seq_start``, ``codes``,
``payloads``, ``serials``: :class:`loyalcode.codegen.labels.LabelChunk` or anything
shaped like it), so it never sees a key or a database. Pages stream through: at most a
few pages per worker are in flight, so memory does not grow with the run. Large runs
render pages in a pool of worker processes (label data goes to the workers, compressed
pages come back), while the calling process writes them in order. Output is atomic
(see :mod:`loyalcode.printing.output`).
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from loyalcode.printing.errors import InvalidFormat, PayloadTooLong, TemplateInvalid
from loyalcode.printing.fonts import find_caption_font
from loyalcode.printing.layout import SheetSpec, check_dpi
from loyalcode.printing.output import AtomicPageDir, preflight
from loyalcode.printing.qr import QrEncoder, check_ec, choose_version, segment_version
from loyalcode.printing.sheets import PageLabels, PageRenderer
from loyalcode.printing.templates import Template
from loyalcode.printing.zpl import ZplLabels, check_zpl_dpi
from loyalcode.store.files import AtomicFile, interrupt_on_termination

FORMATS = ("pdf", "png", "zpl")
DEFAULT_DPI = {"pdf": 300, "png": 300, "zpl": 203}
#: Runs smaller than this many labels render in the calling process (no pool start-up).
POOL_THRESHOLD = 2000
PAGES_PER_TASK = 4
TASKS_IN_FLIGHT_PER_WORKER = 3


class LabelChunkLike(Protocol):
    seq_start: int
    codes: Sequence[str]
    payloads: Sequence[str]
    serials: Sequence[str] | None


@dataclass(frozen=True, slots=True)
class PrintOptions:
    """What to print and how."""

    template: Template
    fmt: str = "pdf"
    dpi: int | None = None
    ec: str = "M"
    with_serial: bool = True
    caption: str | None = None
    font: str | None = None
    workers: int | None = None  # None: all cores for large runs
    outer_code: bool = False  # the visible serial as a DataMatrix in the template's outer box


@dataclass(frozen=True, slots=True)
class PartFile:
    """One output file (or PNG directory) of a run and the labels in it."""

    path: str
    labels: int
    pages: int
    seq_from: int | None
    seq_to: int | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PrintResult:
    """Summary of a finished run (the ``print --json`` body); ``files`` lists the parts of
    a split run (see :mod:`loyalcode.printing.split`), else the one output."""

    path: str
    format: str
    template: str
    dpi: int
    pages: int
    labels: int
    seq_from: int | None
    seq_to: int | None
    seconds: float
    qr_version: int
    ec: str
    workers: int
    files: tuple[PartFile, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        body = {name: getattr(self, name) for name in self.__slots__ if name != "files"}  # type: ignore[attr-defined]
        parts = self.files or (PartFile(self.path, self.labels, self.pages, self.seq_from, self.seq_to),)
        body["files"] = [part.to_dict() for part in parts]
        return body


def prepare(options: PrintOptions, sample_payloads: Sequence[str],
            sample_serials: Sequence[str] | None = None) -> SheetSpec:
    """Check the options and fix the run's geometry: QR version and mask, text sizes.

    ``sample_payloads`` must include the longest payloads of the run (the first chunk
    and the last label are enough for payloads made from a template).
    """
    if options.fmt not in FORMATS:
        raise InvalidFormat(value=options.fmt, choices=", ".join(FORMATS))
    dpi = options.dpi if options.dpi is not None else DEFAULT_DPI[options.fmt]
    check_dpi(dpi)
    if options.fmt == "zpl":
        check_zpl_dpi(dpi)
    ec = check_ec(options.ec)
    caption = options.caption.strip() if options.caption else None
    caption_font = str(find_caption_font(caption, options.font)) if caption else None
    payloads = list(sample_payloads)
    # ZPL: the printer encodes the symbol, one segment a payload (see printing.zpl).
    version = segment_version(payloads, ec) if options.fmt == "zpl" else choose_version(payloads, ec)
    encoder = QrEncoder(version, ec, sample=payloads[:32])
    serial_chars = max((len(s) for s in sample_serials or ()), default=8)
    spec = SheetSpec(
        template=options.template, dpi=dpi, version=version, ec=ec,
        with_serial=options.with_serial, serial_chars=serial_chars,
        caption=caption, caption_font=caption_font,
        mask=encoder.mask, mask_reference=encoder.reference, outer_code=options.outer_code,
    )
    if options.template.logistic:
        raise TemplateInvalid(name=options.template.name,
                              reason="it is a case and pallet label template: use print-logistic")
    # Build the layout now so a label too small for its content fails before any output.
    if options.fmt == "zpl":
        ZplLabels(spec)
    else:
        PageRenderer(spec)
    return spec


def paginate(chunks: Iterable[LabelChunkLike], per_page: int) -> Iterator[PageLabels]:
    """Regroup chunks of any size into pages of ``per_page`` labels (the last may be short)."""
    codes: list[str] = []
    payloads: list[str] = []
    serials: list[str] | None = None
    seq = None
    for chunk in chunks:
        if seq is None:
            seq = chunk.seq_start
            serials = [] if chunk.serials is not None else None
        codes.extend(chunk.codes)
        payloads.extend(chunk.payloads)
        if serials is not None:
            serials.extend(chunk.serials or ())
        start = 0
        while len(codes) - start >= per_page:
            end = start + per_page
            yield PageLabels(seq, codes[start:end], payloads[start:end],
                             serials[start:end] if serials is not None else None)
            seq += per_page
            start = end
        del codes[:start], payloads[:start]
        if serials is not None:
            del serials[:start]
    if codes:
        assert seq is not None
        yield PageLabels(seq, codes, payloads, serials)


# --- worker side ----------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(spec: SheetSpec, fmt: str, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles interrupts
    die_with(parent)
    _worker["renderer"] = PageRenderer(spec)
    _worker["fmt"] = fmt


def die_with(pid: int) -> None:
    """End this process as soon as process ``pid`` ends (a worker with its print run).

    A pool worker's parent is the forkserver, which itself lives as long as any worker
    does, so PR_SET_PDEATHSIG would never fire when the run is SIGKILLed: a daemon
    thread waits on a pidfd of the run instead (Linux 5.3+), or polls the pid where
    there is no pidfd. A run that is already gone ends the worker at once.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here (not Linux, or a seccomp filter)
        fd = None

    def wait() -> None:
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has ended
        else:
            while True:
                time.sleep(0.5)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    continue
        os._exit(1)

    threading.Thread(target=wait, name="die-with-parent", daemon=True).start()


def _render_task(pages: list[PageLabels]) -> list[bytes]:
    return render_pages(_worker["renderer"], _worker["fmt"], pages)


def render_pages(renderer: PageRenderer, fmt: str, pages: list[PageLabels]) -> list[bytes]:
    """Each page as PNG file bytes (``png``) or a compressed PDF image stream (``pdf``)."""
    from loyalcode.printing.pdf import compress_page
    from loyalcode.printing.png import encode_png

    out = []
    for page in pages:
        bitmap = renderer.render(page)
        out.append(encode_png(bitmap, renderer.spec.dpi) if fmt == "png" else compress_page(bitmap))
    return out


def _batched(pages: Iterator[PageLabels], size: int) -> Iterator[list[PageLabels]]:
    batch: list[PageLabels] = []
    for page in pages:
        batch.append(page)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _rendered(spec: SheetSpec, fmt: str, pages: Iterator[PageLabels], workers: int
              ) -> Iterator[tuple[PageLabels, bytes]]:
    """Rendered pages in order, from a bounded pool (or inline for ``workers <= 1``)."""
    tasks = _batched(pages, PAGES_PER_TASK)
    if workers <= 1:
        renderer = PageRenderer(spec)
        for task in tasks:
            yield from zip(task, render_pages(renderer, fmt, task))
        return
    # forkserver: workers fork from a clean single-threaded server, never from a parent
    # that may hold locks in other threads; ProcessPoolExecutor reports a dead worker
    # (BrokenProcessPool) instead of waiting for it forever.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                               initargs=(spec, fmt, os.getpid()))
    try:
        pending: deque[tuple[list[PageLabels], Future[list[bytes]]]] = deque()
        limit = workers * TASKS_IN_FLIGHT_PER_WORKER
        for task in tasks:
            pending.append((task, pool.submit(_render_task, task)))
            while len(pending) >= limit:
                done, result = pending.popleft()
                yield from zip(done, result.result())
        while pending:
            done, result = pending.popleft()
            yield from zip(done, result.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_count(requested: int | None, total: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    if total is not None and total < POOL_THRESHOLD:
        return 1
    return max(1, os.cpu_count() or 1)


def print_labels(
    chunks: Iterable[LabelChunkLike],
    out: str | os.PathLike[str],
    options: PrintOptions,
    *,
    spec: SheetSpec | None = None,
    total: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    stream: bool = False,
) -> PrintResult:
    """Render ``chunks`` to ``out`` in ``options.fmt``; atomic, streaming, parallel.

    ``out`` is written under a temporary name (0600) and renamed when complete; a
    symlink, FIFO or device is refused unless ``stream`` (pdf, zpl), which writes
    straight to it (:class:`loyalcode.store.files.AtomicFile`).

    Without ``spec`` the first chunk is the sample that fixes the QR version (pass a
    ``spec`` from :func:`prepare` when later payloads may be longer).
    """
    preflight(out, options.fmt, stream=stream)
    started = time.perf_counter()
    iterator = iter(chunks)
    first = next(iterator, None)
    if first is None:
        raise PayloadTooLong(length=0, reason="there are no labels to print")
    if spec is None:
        spec = prepare(options, first.payloads, first.serials)

    def all_chunks() -> Iterator[LabelChunkLike]:
        yield first
        yield from iterator

    out = Path(out)
    fmt = options.fmt
    workers = 1 if fmt == "zpl" else _worker_count(options.workers, total)
    labels = pages = 0
    seq_from = first.seq_start
    with interrupt_on_termination():
        if fmt == "zpl":
            zpl = ZplLabels(spec)
            with AtomicFile(out, stream=stream) as f:
                if zpl.header:
                    f.write(zpl.header.encode("utf-8"))
                for chunk in all_chunks():
                    f.write(zpl.format(chunk.codes, chunk.payloads, chunk.serials).encode("utf-8"))
                    labels += len(chunk.codes)
                    if on_progress:
                        on_progress(len(chunk.codes))
            pages = labels
        elif fmt == "png":
            with AtomicPageDir(out) as directory:
                for page, data in _rendered(spec, fmt, paginate(all_chunks(), spec.template.labels_per_page), workers):
                    directory.write_page(data)
                    labels += len(page.codes)
                    if on_progress:
                        on_progress(len(page.codes))
                pages = directory.pages
        else:
            from loyalcode.printing.layout import SheetLayout
            from loyalcode.printing.pdf import PdfWriter

            layout = SheetLayout(spec)
            width, height = layout.page_px
            with AtomicFile(out, stream=stream) as f:
                writer = PdfWriter(f, spec.template.page_mm)
                for page, data in _rendered(spec, fmt, paginate(all_chunks(), spec.template.labels_per_page), workers):
                    writer.add_page(data, width, height, spec.dpi)
                    labels += len(page.codes)
                    if on_progress:
                        on_progress(len(page.codes))
                writer.close()
                pages = writer.pages
    return PrintResult(
        path=str(out), format=fmt, template=spec.template.name, dpi=spec.dpi, pages=pages,
        labels=labels, seq_from=seq_from, seq_to=seq_from + labels - 1,
        seconds=round(time.perf_counter() - started, 3), qr_version=spec.version, ec=spec.ec,
        workers=workers,
    )
