"""Case and pallet labels (SSCC labels, 箱码/垛码 labels) as PDF, PNG or ZPL.

Each label carries the SSCC twice for machines, a GS1-128 barcode (Code 128, FNC1 first,
AI 00 and the 18 digits) and a GS1 Digital Link QR (``https://HOST/00/{sscc}``), and for
people the SSCC in HRI form under the bars and a text block: the kind, the product, the
quantity and the batch. It is laid out by a logistic template (one with
``barcode_box_mm``: ``a6-sscc``, ``4x6-sscc``, or a user's), with the calibration and
the safe area of unit labels: nothing is drawn outside the safe area, the barcode keeps
its 10-module quiet zones inside its box and the QR its 4 modules inside its square.

This module sees plain data (:class:`LogisticLabel`), never the database: the command
line gathers the facts from :mod:`loyalcode.channels.cases` and hands them over.

GS1-128's X dimension is a whole number of printer dots, the largest that fits the box
and stays within the GS1 maximum of 1.016 mm; the bars are as tall as the box allows
(the GS1 logistic label asks for at least 31.75 mm, which the shipped templates give).
In ZPL the printer draws the bars itself from ``^BC`` field data ``>;>800{sscc}``
(``>;`` start in code set C, ``>8`` FNC1), which every firmware reads, and the QR from
``^BQ`` in manual byte mode, as unit labels do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loyalcode.errors import InvalidInput
from loyalcode.printing.barcodes import CODE128_QUIET, GS1_128_X_MM, gs1_128
from loyalcode.printing.errors import InvalidFormat, LabelTooSmall, TemplateInvalid
from loyalcode.printing.fonts import MONO_FONT, find_caption_font
from loyalcode.printing.layout import check_dpi
from loyalcode.printing.output import AtomicPageDir
from loyalcode.printing.qr import QUIET_ZONE, QrEncoder, check_ec, choose_version
from loyalcode.printing.run import DEFAULT_DPI, FORMATS, PrintResult
from loyalcode.printing.templates import Template
from loyalcode.printing.text import caption_width_px, render_caption
from loyalcode.printing.zpl import QR_DROP, check_zpl_dpi
from loyalcode.store.files import AtomicFile

#: Modules of a GS1-128 SSCC: start C, FNC1, ten digit pairs, check, stop (11 each, stop 13).
SSCC_MODULES = 156
_LINE_SPACING = 1.2
_MAX_TEXT_MM = 7.0


@dataclass(frozen=True, slots=True)
class LogisticLabel:
    """What one case or pallet label shows (plain data from the caller)."""

    sscc: str
    kind: str
    product: str = ""
    quantity: int | None = None
    batch: str = ""
    cases: int | None = None
    """Cases on a pallet (``None`` on a case label)."""

    def lines(self) -> list[str]:
        """The text block, top to bottom (a label printed before packing has only the
        first: an empty line keeps its place)."""
        count = "" if not self.quantity else (
            f"QTY {self.quantity:,}" + (f"   CASES {self.cases:,}" if self.cases is not None else ""))
        return [f"{self.kind.upper()}  SSCC {self.sscc}", self.product, count,
                f"BATCH {self.batch}" if self.batch else ""]


def labels_from_facts(facts: Iterable[Mapping[str, Any]]) -> list[LogisticLabel]:
    """Labels from the facts of :func:`loyalcode.channels.cases.label_facts` as dicts
    (``sscc``, ``kind``, ``quantity``, ``cases``, ``products``: ``batch``, ``sku``,
    ``name``, ``quantity``): one product by its SKU and name, several by their count."""
    out = []
    for f in facts:
        products = list(f.get("products") or ())
        if len(products) == 1:
            p = products[0]
            product = " ".join(str(v) for v in (p.get("sku"), p.get("name")) if v)
        else:
            product = f"MIXED: {len(products)} PRODUCTS" if products else ""
        batches = ", ".join(str(p["batch"]) for p in products)
        out.append(LogisticLabel(
            sscc=str(f["sscc"]), kind=str(f["kind"]), product=product, quantity=int(f.get("quantity") or 0),
            batch=batches, cases=int(f["cases"]) if f["kind"] == "pallet" else None))
    return out


def digital_link(host: str, sscc: str) -> str:
    """The GS1 Digital Link URI of an SSCC on ``host`` (a domain, or a URL prefix).

    >>> digital_link("lc.example.com", "069012340000000177")
    'https://lc.example.com/00/069012340000000177'
    """
    base = host.strip().rstrip("/")
    if not base:
        raise InvalidInput(detail="the Digital Link host is empty")
    if "://" not in base:
        base = "https://" + base
    return f"{base}/00/{sscc}"


def hri(sscc: str) -> str:
    """The human-readable line under the bars: ``(00) 069012340000000177``."""
    return f"(00) {sscc}"


@dataclass(frozen=True, slots=True)
class LogisticSpec:
    """A run's fixed choices: template, format, resolution, QR version and level, font."""

    template: Template
    fmt: str
    dpi: int
    ec: str
    version: int
    font: str


def prepare(template: Template, fmt: str, dpi: int | None, ec: str, labels: Sequence[LogisticLabel],
            host: str, font: str | None = None) -> LogisticSpec:
    """Check the options against the labels and fix the run's geometry."""
    if fmt not in FORMATS:
        raise InvalidFormat(value=fmt, choices=", ".join(FORMATS))
    if not template.logistic:
        raise TemplateInvalid(name=template.name,
                              reason="it has no barcode box: use a case and pallet template (a6-sscc, 4x6-sscc)")
    dpi = dpi if dpi is not None else DEFAULT_DPI[fmt]
    check_dpi(dpi)
    if fmt == "zpl":
        check_zpl_dpi(dpi)
    ec = check_ec(ec)
    if not labels:
        raise InvalidInput(detail="there are no case or pallet labels to print")
    urls = [digital_link(host, label.sscc) for label in labels]
    text = "".join("".join(label.lines()) for label in labels)
    face = str(find_caption_font(text, font))
    spec = LogisticSpec(template=template, fmt=fmt, dpi=dpi, ec=ec,
                        version=choose_version(urls, ec), font=face)
    LogisticLayout(spec, labels[:1])  # too small for its content: refused before any output
    return spec


class LogisticLayout:
    """Pixel geometry of one label (positions within the label, before calibration)."""

    def __init__(self, spec: LogisticSpec, sample: Sequence[LogisticLabel]) -> None:
        t = spec.template
        self.spec = spec
        self.k = k = spec.dpi / 25.4
        # QR: whole-dot modules in the square kept with its quiet zone.
        self.qr_modules = 17 + 4 * spec.version
        side = math.floor(t.qr_size_mm * k + 1e-9)
        self.qr_module = side // (self.qr_modules + 2 * QUIET_ZONE)
        if self.qr_module < 1:
            raise LabelTooSmall(name=t.name, dpi=spec.dpi, reason="the Digital Link QR does not fit its square")
        self.qr_px = self.qr_modules * self.qr_module
        # GS1-128: whole-dot X, quiet zones inside the box, the HRI line below the bars.
        bx, by, bw, bh = (v * k for v in t.barcode_box_mm)
        total = SSCC_MODULES + 2 * CODE128_QUIET
        self.x_dots = min(math.floor(bw / total + 1e-9), max(1, math.floor(GS1_128_X_MM[1] * k + 1e-9)))
        if self.x_dots < 1:
            raise LabelTooSmall(name=t.name, dpi=spec.dpi, reason="the GS1-128 barcode does not fit its box")
        self.bars_w = SSCC_MODULES * self.x_dots
        self.hri_px = max(8, min(math.floor(bh * 0.14), math.floor(4.0 * k)))
        while self.hri_px > 8 and caption_width_px(hri("0" * 18), MONO_FONT, self.hri_px) > bw:
            self.hri_px -= 1
        self.hri_h = render_caption(hri("0" * 18), MONO_FONT, self.hri_px).shape[0]
        gap = round(1.0 * k)
        self.bars_h = math.floor(bh) - self.hri_h - gap
        if self.bars_h < 8:
            raise LabelTooSmall(name=t.name, dpi=spec.dpi, reason="the barcode box leaves no room for the bars")
        self.bars_xy = (round(bx + (bw - self.bars_w) / 2), round(by))
        self.hri_y = round(by) + self.bars_h + gap
        self.box = (round(bx), round(by), math.floor(bw), math.floor(bh))
        # Text block: one size for every line, fitted to the box.
        tx, ty, tw, th = (v * k for v in t.text_box_mm)
        self.text_xy = (math.ceil(tx), math.ceil(ty))  # font 0 may ink a dot above its origin
        self.text_w, self.text_h = math.floor(tw), math.floor(th)
        lines = max((len(label.lines()) for label in sample), default=4)
        self.text_px = min(math.floor(th / (lines * _LINE_SPACING)), math.floor(_MAX_TEXT_MM * k))
        if self.text_px < 8:
            raise LabelTooSmall(name=t.name, dpi=spec.dpi, reason="the text box is too small for legible text")

    def text_size(self, line: str) -> int:
        """The pixel size ``line`` is set in: the run's size, smaller if it is too wide."""
        size = self.text_px
        width = caption_width_px(line, self.spec.font, size) if line else 0
        if width > self.text_w:
            size = max(8, math.floor(size * self.text_w / width))
            while size > 8 and caption_width_px(line, self.spec.font, size) > self.text_w:
                size -= 1
        return size

    def qr_xy(self) -> tuple[int, int]:
        """Top-left of the QR symbol within the label (centred in its square)."""
        cx, cy = (v * self.k for v in self.spec.template.qr_center_mm)
        return (round(cx - self.qr_px / 2), round(cy - self.qr_px / 2))


class LogisticRenderer:
    """Label bitmaps (raster formats) and ZPL blocks of one run."""

    def __init__(self, spec: LogisticSpec, sample: Sequence[LogisticLabel]) -> None:
        self.spec = spec
        self.layout = LogisticLayout(spec, sample)
        self.encoder = QrEncoder(spec.version, spec.ec)

    # --- raster ---------------------------------------------------------------------

    def text_bitmaps(self, label: LogisticLabel) -> list[tuple[np.ndarray, int]]:
        """Each text line's bitmap and its y offset within the text box."""
        out, y = [], 0
        step = round(self.layout.text_px * _LINE_SPACING)
        for line in label.lines():
            if line:
                out.append((render_caption(line, self.spec.font, self.layout.text_size(line))[:step], y))
            y += step
        return out

    def label_bitmap(self, label: LogisticLabel, host: str) -> np.ndarray:
        """One label (height, width) of booleans, uncalibrated."""
        t, lay = self.spec.template, self.layout
        k = lay.k
        w, h = round(t.label_mm[0] * k), round(t.label_mm[1] * k)
        out = np.zeros((h, w), dtype=bool)
        qr = self.encoder.encode_many([digital_link(host, label.sscc)])[0]
        m = lay.qr_module
        qx, qy = lay.qr_xy()
        out[qy: qy + lay.qr_px, qx: qx + lay.qr_px] = qr.repeat(m, axis=0).repeat(m, axis=1)
        bars = gs1_128(f"(00){label.sscc}").repeat(lay.x_dots)
        bx, by = lay.bars_xy
        out[by: by + lay.bars_h, bx: bx + bars.size] = bars[np.newaxis, :]
        text = render_caption(hri(label.sscc), MONO_FONT, lay.hri_px)
        _blit(out, text, lay.box[0] + (lay.box[2] - text.shape[1]) // 2, lay.hri_y)
        tx, ty = lay.text_xy
        for bitmap, dy in self.text_bitmaps(label):
            _blit(out, bitmap, tx, ty + dy)
        return out

    def page(self, labels: Sequence[LogisticLabel], host: str) -> np.ndarray:
        """A page of up to ``labels_per_page`` labels, each at its calibrated place."""
        t, k = self.spec.template, self.layout.k
        page = np.zeros((round(t.page_mm[1] * k), round(t.page_mm[0] * k)), dtype=bool)
        for slot, label in enumerate(labels):
            ox, oy = t.label_origin_mm(slot)
            px, py = t.place_mm(ox, oy)
            _blit(page, self.label_bitmap(label, host), round(px * k), round(py * k))
        return page

    # --- ZPL ------------------------------------------------------------------------

    def zpl(self, label: LogisticLabel, host: str) -> str:
        """One ``^XA ... ^XZ`` block: the printer draws the bars, the QR and ASCII text;
        text in other scripts goes as a graphic field."""
        t, lay = self.spec.template, self.layout
        k = lay.k
        sx, sy = t.place_mm(0.0, 0.0)
        dx, dy = round(sx * k), round(sy * k)  # calibration of a one-label page: the shift
        w, h = round(t.label_mm[0] * k), round(t.label_mm[1] * k)
        url = digital_link(host, label.sscc)
        qx, qy = lay.qr_xy()
        parts = [f"^XA^CI28^PW{w}^LL{h}^LH0,0",
                 (f"^BY2,3,{QR_DROP}^FO{qx + dx},{qy + dy - QR_DROP}^BQN,2,{lay.qr_module}"
                  f"^FD{self.spec.ec}M,B{len(url.encode()):04d}{url}^FS")]
        bx, by = lay.bars_xy
        parts.append(f"^BY{lay.x_dots},3,{lay.bars_h}^FO{bx + dx},{by + dy}"
                     f"^BCN,{lay.bars_h},N,N,N^FD>;>800{label.sscc}^FS^BY2,3,10")
        parts.append(_zpl_text(hri(label.sscc), lay.box[0] + dx, lay.hri_y + dy, lay.box[2], lay.hri_px,
                               "C"))
        tx, ty = lay.text_xy
        step = round(lay.text_px * _LINE_SPACING)
        for i, line in enumerate(label.lines()):
            if not line:
                continue
            if line.isascii() and "^" not in line and "~" not in line:
                parts.append(_zpl_text(line, tx + dx, ty + dy + i * step, lay.text_w, lay.text_size(line), "L"))
            else:
                bitmap = render_caption(line, self.spec.font, lay.text_size(line))[:step]
                parts.append(f"^FO{tx + dx},{ty + dy + i * step}{_graphic_field(bitmap)}^FS")
        parts.append("^XZ\n")
        return "".join(parts)


def _zpl_text(text: str, x: int, y: int, width: int, size: int, align: str) -> str:
    # Font 0 a little narrower than tall keeps the line inside the box fitted in the
    # raster face (see printing.zpl.FONT0_WIDTH).
    return f"^FO{x},{y}^A0N,{size},{max(1, round(size * 0.8))}^FB{width},1,0,{align}^FD{text}^FS"


def _graphic_field(bitmap: np.ndarray) -> str:
    packed = np.packbits(bitmap, axis=1)
    rows, row_bytes = packed.shape
    return f"^GFA,{rows * row_bytes},{rows * row_bytes},{row_bytes},{packed.tobytes().hex().upper()}"


def _blit(page: np.ndarray, bitmap: np.ndarray, x: int, y: int) -> None:
    h, w = bitmap.shape
    ph, pw = page.shape
    h, w = min(h, ph - y), min(w, pw - x)
    if h > 0 and w > 0:
        page[y: y + h, x: x + w] |= bitmap[:h, :w]


def print_logistic(labels: Iterable[LogisticLabel], out: str | Path, template: Template, *,
                   host: str, fmt: str = "pdf", dpi: int | None = None, ec: str = "M",
                   font: str | None = None) -> PrintResult:
    """Render case and pallet labels to ``out`` (atomic, like unit labels)."""
    from loyalcode.printing.pdf import PdfWriter, compress_page
    from loyalcode.printing.png import encode_png

    started = time.perf_counter()
    items = list(labels)
    spec = prepare(template, fmt, dpi, ec, items, host, font)
    renderer = LogisticRenderer(spec, items)
    out = Path(out)
    per_page = template.labels_per_page
    pages = [items[i: i + per_page] for i in range(0, len(items), per_page)]
    if fmt == "zpl":
        with AtomicFile(out) as f:
            for label in items:
                f.write(renderer.zpl(label, host).encode("utf-8"))
        count = len(items)
    elif fmt == "png":
        with AtomicPageDir(out) as directory:
            for group in pages:
                directory.write_page(encode_png(renderer.page(group, host), spec.dpi))
        count = len(pages)
    else:
        with AtomicFile(out) as f:
            writer = PdfWriter(f, template.page_mm)
            for group in pages:
                bitmap = renderer.page(group, host)
                writer.add_page(compress_page(bitmap), bitmap.shape[1], bitmap.shape[0], spec.dpi)
            writer.close()
        count = len(pages)
    return PrintResult(path=str(out), format=fmt, template=template.name, dpi=spec.dpi, pages=count,
                       labels=len(items), seq_from=None, seq_to=None,
                       seconds=round(time.perf_counter() - started, 3), qr_version=spec.version,
                       ec=spec.ec, workers=1)
