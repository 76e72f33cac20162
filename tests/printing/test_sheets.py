"""Sheets in every raster format and template: every QR decodes, in its place, with its text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from loyalcode.printing.fonts import MONO_FONT
from loyalcode.printing.layout import group_lines
from loyalcode.printing.run import PrintOptions, prepare, print_labels
from loyalcode.printing.sheets import PageRenderer
from loyalcode.printing.templates import BUILTIN, Template
from loyalcode.printing.text import GlyphTable
from tests.printing.support import (
    URL,
    dark_bbox,
    decode,
    pdf_embedded_images,
    pdf_pages,
    png_pages,
    synthetic_chunks,
)

TEMPLATES = sorted(n for n, t in BUILTIN.items() if not t.logistic)


def _count_for(t: Template) -> int:
    # Two full pages and a partial third for sheets; three labels for rolls.
    return 3 if t.labels_per_page == 1 else 2 * t.labels_per_page + 3


def _render(tmp_path: Path, t: Template, fmt: str, dpi: int = 300, **kw):  # type: ignore[no-untyped-def]
    chunks = synthetic_chunks(_count_for(t), chunk=37)
    options = PrintOptions(template=t, fmt=fmt, dpi=dpi, workers=kw.pop("workers", 1), **kw)
    spec = prepare(options, [p for c in chunks for p in c.payloads], [s for c in chunks for s in c.serials])
    out = tmp_path / ("pages" if fmt == "png" else f"sheet.{fmt}")
    result = print_labels(chunks, out, options, spec=spec)
    pages = png_pages(out) if fmt == "png" else pdf_pages(out, dpi)
    codes = [c for ch in chunks for c in ch.codes]
    return result, spec, pages, codes


def _slot_window(t: Template, slot: int, px_per_mm: float) -> tuple[int, int, int, int]:
    cx, cy = t.qr_center_on_page_mm(slot)
    half = t.qr_size_mm / 2
    return (round((cx - half) * px_per_mm), round((cy - half) * px_per_mm),
            round((cx + half) * px_per_mm), round((cy + half) * px_per_mm))


def _check_every_label(t: Template, pages: list[np.ndarray], codes: list[str], dpi: int) -> None:
    """Each label decodes to its own payload, in its own slot; none missing or duplicated."""
    per_page = t.labels_per_page
    assert len(pages) == -(-len(codes) // per_page)
    px_per_mm = dpi / 25.4
    decoded_all: list[str] = []
    for p, image in enumerate(pages):
        found = decode(image)
        on_page = codes[p * per_page: (p + 1) * per_page]
        assert len(found) == len(on_page), f"page {p + 1}: {len(found)} of {len(on_page)} decoded"
        for f in found:
            decoded_all.append(f.text)
            assert f.text.startswith(URL)
            seq = codes.index(f.text[len(URL):]) + 1  # the label's own code → its seq
            slot = (seq - 1) - p * per_page
            assert 0 <= slot < len(on_page), f"{f.text} found on page {p + 1}, belongs elsewhere"
            x0, y0, x1, y1 = _slot_window(t, slot, px_per_mm)
            assert x0 <= f.center[0] <= x1 and y0 <= f.center[1] <= y1, f"seq {seq} not in its slot"
    assert sorted(decoded_all) == sorted(URL + c for c in codes)  # none missing, none twice


def _check_positions(t: Template, pages: list[np.ndarray], count: int, dpi: int) -> None:
    """The symbol's centre is where the template says, within 0.1 mm."""
    px_per_mm = dpi / 25.4
    for slot in range(min(count, t.labels_per_page)):
        box = dark_bbox(pages[0], *_slot_window(t, slot, px_per_mm))
        assert box is not None
        cx = (box[0] + box[2]) / 2 / px_per_mm
        cy = (box[1] + box[3]) / 2 / px_per_mm
        ex, ey = t.qr_center_on_page_mm(slot)
        assert abs(cx - ex) <= 0.1 and abs(cy - ey) <= 0.1, (slot, (cx, cy), (ex, ey))


def _check_text(spec, pages: list[np.ndarray], codes: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The human-readable code under each QR is the code that QR holds."""
    renderer = PageRenderer(spec)
    layout = renderer.layout
    glyphs = GlyphTable(MONO_FONT, layout.code_px)
    image = pages[0] < 128
    by_slot = {}  # slot -> the code its QR holds (decoder order is not page order)
    px_per_mm = spec.dpi / 25.4
    for f in decode(pages[0]):
        for slot in range(spec.template.labels_per_page):
            x0, y0, x1, y1 = _slot_window(spec.template, slot, px_per_mm)
            if x0 <= f.center[0] <= x1 and y0 <= f.center[1] <= y1:
                by_slot[slot] = f.text[len(URL):]
    assert by_slot
    for slot, code in by_slot.items():
        tx, ty = layout.text_xy[slot]
        lines = glyphs.render(group_lines(code, layout.code_lines))
        for line, at in zip(lines, renderer.code_at):
            x, y = tx + at.dx, ty + at.dy
            h, w = line.shape
            printed = image[y: y + h, x: x + w]
            assert (printed == line).all(), f"slot {slot}: text differs from the QR's code"
        # The comparison tells codes apart: another code's text does not match here.
        other = next(c for c in codes if c[:4] != code[:4])
        wrong = glyphs.render(group_lines(other, layout.code_lines))[0]
        x, y = tx + renderer.code_at[0].dx, ty + renderer.code_at[0].dy
        assert (image[y: y + wrong.shape[0], x: x + wrong.shape[1]] == wrong).mean() < 0.97


@pytest.mark.parametrize("name", TEMPLATES)
def test_png_every_label_decodes_in_place_with_its_text(tmp_path: Path, name: str) -> None:
    t = BUILTIN[name]
    result, spec, pages, codes = _render(tmp_path, t, "png")
    assert result.labels == len(codes) and result.pages == len(pages)
    _check_every_label(t, pages, codes, 300)
    _check_positions(t, pages, len(codes), 300)
    _check_text(spec, pages, codes)


@pytest.mark.parametrize("name", TEMPLATES)
def test_pdf_every_label_decodes_in_place_with_its_text(tmp_path: Path, name: str) -> None:
    t = BUILTIN[name]
    result, spec, pages, codes = _render(tmp_path, t, "pdf")
    assert result.pages == len(pages)
    _check_every_label(t, pages, codes, 300)
    # PDFium resamples the page image by up to a device pixel (float32 page boxes), so
    # positions are measured on a 600 dpi rendering of the first page.
    _check_positions(t, pdf_pages(tmp_path / "sheet.pdf", 600)[:1], len(codes), 600)
    # The page image as stored in the PDF: the same pixel-exact text check as PNG.
    _check_text(spec, pdf_embedded_images(tmp_path / "sheet.pdf")[:1], codes)


@pytest.mark.parametrize("dpi", [203, 600])
def test_other_resolutions_keep_positions(tmp_path: Path, dpi: int) -> None:
    t = BUILTIN["a4-l7160"]
    _, _, pages, codes = _render(tmp_path, t, "png", dpi=dpi)
    _check_every_label(t, pages, codes, dpi)
    _check_positions(t, pages, len(codes), dpi)


def test_png_records_dpi_and_is_one_bit(tmp_path: Path) -> None:
    from PIL import Image

    _render(tmp_path, BUILTIN["roll-50x30"], "png", dpi=600)
    with Image.open(tmp_path / "pages" / "page-00001.png") as im:
        assert im.mode == "1"
        assert round(im.info["dpi"][0]) == 600
        assert im.size == (round(50 / 25.4 * 600), round(30 / 25.4 * 600))


def test_pdf_page_size_is_the_template_page(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    _render(tmp_path, BUILTIN["letter-3x10"], "pdf")
    doc = pdfium.PdfDocument(str(tmp_path / "sheet.pdf"))
    w, h = doc[0].get_size()
    assert abs(w - 215.9 / 25.4 * 72) < 0.2 and abs(h - 279.4 / 25.4 * 72) < 0.2  # within a dot
    doc.close()


def test_calibration_offsets_move_the_labels(tmp_path: Path) -> None:
    base = BUILTIN["a4-3x8"]
    shifted = replace(base, name="a4-3x8-cal", shift_mm=(1.5, -0.4), scale=(0.995, 1.0))
    _, _, pages, codes = _render(tmp_path, shifted, "png")
    _check_every_label(shifted, pages, codes, 300)
    _check_positions(shifted, pages, len(codes), 300)
    # And they really moved: label 0 by the shift, the last column further by the scale.
    assert shifted.qr_center_on_page_mm(0)[0] == pytest.approx(base.qr_center_on_page_mm(0)[0] * 0.995 + 1.5)
    px = 300 / 25.4
    box = dark_bbox(pages[0], *_slot_window(base, 2, px))
    assert box is not None
    moved = (box[0] + box[2]) / 2 / px - base.qr_center_on_page_mm(2)[0]
    assert moved == pytest.approx(shifted.qr_center_on_page_mm(2)[0] - base.qr_center_on_page_mm(2)[0], abs=0.1)


@pytest.mark.parametrize("ec", ["L", "Q", "H"])
def test_error_correction_levels(tmp_path: Path, ec: str) -> None:
    t = BUILTIN["a4-3x8"]
    result, _, pages, codes = _render(tmp_path, t, "png", ec=ec)
    assert result.ec == ec
    _check_every_label(t, pages, codes, 300)


def test_byte_mode_payloads_decode(tmp_path: Path) -> None:
    """GS1 Digital Link style lower-case payloads need byte mode and a bigger symbol."""
    t = BUILTIN["a4-3x8"]
    chunks = synthetic_chunks(30, prefix="https://id.example.com/01/09506000134352/21/x?c=")
    options = PrintOptions(template=t, fmt="png", dpi=300, workers=1)
    result = print_labels(chunks, tmp_path / "p", options)
    assert result.qr_version > 3
    texts = sorted(f.text for page in png_pages(tmp_path / "p") for f in decode(page))
    assert texts == sorted(p for c in chunks for p in c.payloads)


def test_worker_pool_output_equals_single_process(tmp_path: Path) -> None:
    t = BUILTIN["a4-3x8"]
    chunks = synthetic_chunks(24 * 5 + 1, chunk=100)
    one = print_labels(chunks, tmp_path / "one.pdf", PrintOptions(template=t, workers=1))
    two = print_labels(chunks, tmp_path / "two.pdf", PrintOptions(template=t, workers=2))
    assert (one.pages, two.workers) == (6, 2)
    assert (tmp_path / "one.pdf").read_bytes() == (tmp_path / "two.pdf").read_bytes()


def test_caption_in_chinese_renders_without_boxes(tmp_path: Path, cjk_font: str) -> None:
    from loyalcode.printing.fonts import covers

    t = BUILTIN["roll-50x30"]
    _, spec, pages, codes = _render(tmp_path, t, "png", caption="刮开涂层 扫码积分")
    assert spec.caption_font is not None and covers(spec.caption_font, "刮开涂层扫码积分")
    _check_every_label(t, pages, codes, 300)
    # The caption's ink sits above the code lines, inside the text box.
    renderer = PageRenderer(spec)
    tx, ty = renderer.layout.text_xy[0]
    cap = renderer.caption
    assert cap is not None and cap.any()
    region = pages[0][ty + renderer.caption_at.dy: ty + renderer.caption_at.dy + cap.shape[0],
                      tx + renderer.caption_at.dx: tx + renderer.caption_at.dx + cap.shape[1]] < 128
    assert (region == cap).all()
