"""Case and pallet labels and unit outer codes, read back by real decoders: every new
template, as a PDF rasterised by PDFium and as ZPL through the offline ZPL renderer
(see test_zpl_render.py), decoded by zxing-cpp; the SSCC payloads parsed by biip.

The matrix is small on purpose (each template once per format, ZPL at 203 and 300 dpi).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import biip
import numpy as np
import pytest
import zxingcpp
from PIL import Image

from loyalcode.channels.scans import Scan, read_scan
from loyalcode.printing.errors import TemplateInvalid
from loyalcode.printing.logistic import LogisticLabel, labels_from_facts, print_logistic
from loyalcode.printing.run import PrintOptions, print_labels
from loyalcode.printing.templates import BUILTIN
from tests.printing.support import pdf_pages, synthetic_chunks
from tests.printing.test_zpl_render import DOTS_PER_MM, SCRIPT, _renderer

HOST = "lc.example.com"
LOGISTIC = sorted(n for n, t in BUILTIN.items() if t.logistic)
OUTER = sorted(n for n, t in BUILTIN.items() if t.has_outer_code)
LABELS = [
    LogisticLabel("069012340000000177", "case", "TEA-250 茉莉花茶 250 g", 24, "2"),
    LogisticLabel("069012340000000184", "pallet", "TEA-250 Jasmine tea 250 g", 960, "2, 3", cases=40),
]
SERIALS = ["4EXGN9KY", "7PQ2MLXA", "ABCDEFGHJK"]


def _read(image: np.ndarray) -> dict[str, zxingcpp.Barcode]:
    return {r.format.name: r for r in zxingcpp.read_barcodes(image)}


def _check_sscc_label(image: np.ndarray, label: LogisticLabel, safe_px: float) -> None:
    found = _read(image)
    bars, qr = found["Code128"], found["QRCode"]
    assert bars.symbology_identifier == "]C1" and bars.content_type == zxingcpp.ContentType.GS1
    assert bars.text == f"(00){label.sscc}" and bars.bytes == f"00{label.sscc}".encode()
    assert qr.text == f"https://{HOST}/00/{label.sscc}"
    # What a handheld sends (identifier + element string), and the QR: biip and our edge agree.
    scanned = bars.symbology_identifier + bars.bytes.decode()
    assert biip.parse(scanned).gs1_message.element_strings.get(ai="00").sscc.value == label.sscc
    assert biip.parse(qr.text).sscc.value == label.sscc
    assert read_scan(scanned) == read_scan(qr.text) == Scan("sscc", label.sscc)
    ink_y, ink_x = np.nonzero(image < 128)
    h, w = image.shape
    assert ink_x.min() >= safe_px - 1 and ink_y.min() >= safe_px - 1
    assert ink_x.max() < w - safe_px + 1 and ink_y.max() < h - safe_px + 1


@pytest.mark.parametrize("name", LOGISTIC)
def test_sscc_labels_in_pdf_decode_as_gs1_128_and_digital_link(tmp_path: Path, name: str) -> None:
    out = tmp_path / "cases.pdf"
    result = print_logistic(LABELS, out, BUILTIN[name], host=HOST)
    assert (result.labels, result.pages) == (2, 2)
    for page, label in zip(pdf_pages(out, 300), LABELS, strict=True):
        _check_sscc_label(page, label, BUILTIN[name].safe_mm * 300 / 25.4)


def _render_zpl(tmp_path: Path, zpl: str, size_mm: tuple[float, float], dpi: int) -> list[np.ndarray]:
    node_path = _renderer()
    blocks = [b + "^XZ" for b in zpl.split("^XZ") if b.strip()]
    jobs = [{"zpl": b, "width_mm": size_mm[0], "height_mm": size_mm[1], "dpmm": DOTS_PER_MM[dpi],
             "out": str(tmp_path / f"{i}.png")} for i, b in enumerate(blocks)]
    subprocess.run(["node", str(SCRIPT)], input=json.dumps(jobs), text=True, check=True, timeout=300,
                   env={**os.environ, "NODE_PATH": str(node_path)})
    return [np.asarray(Image.open(j["out"]).convert("L")) for j in jobs]


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("name", LOGISTIC)
def test_sscc_labels_in_zpl_decode_through_the_renderer(tmp_path: Path, name: str, dpi: int) -> None:
    out = tmp_path / "cases.zpl"
    print_logistic(LABELS, out, BUILTIN[name], host=HOST, fmt="zpl", dpi=dpi)
    zpl = out.read_text(encoding="utf-8")
    assert f"^FD>;>800{LABELS[0].sscc}^FS" in zpl  # ^BC: start C, FNC1, AI 00
    t = BUILTIN[name]
    images = _render_zpl(tmp_path, zpl, t.label_mm, dpi)
    for image, label in zip(images, LABELS, strict=True):
        h, w = round(t.label_mm[1] * dpi / 25.4), round(t.label_mm[0] * dpi / 25.4)
        _check_sscc_label(image[:h, :w], label, t.safe_mm * dpi / 25.4)


def _unit_chunks() -> list:
    chunks = synthetic_chunks(24, serials=False, chunk=24)
    return [dataclasses.replace(c, serials=[SERIALS[i % 3] for i in range(len(c.codes))]) for c in chunks]


@pytest.mark.parametrize("name", OUTER)
def test_unit_outer_code_in_pdf_and_zpl_decodes_to_the_visible_serial(tmp_path: Path, name: str) -> None:
    t = BUILTIN[name]
    chunks = _unit_chunks()
    pdf = tmp_path / "units.pdf"
    print_labels(chunks, pdf, PrintOptions(template=t, outer_code=True, workers=1))
    page = pdf_pages(pdf, 300)[0]
    found = zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.DataMatrix)
    per_page = min(t.labels_per_page, 24)
    assert sorted(r.text for r in found) == sorted(SERIALS[i % 3] for i in range(per_page))
    assert {read_scan(r.symbology_identifier + r.text) for r in found} == {Scan("unit", s) for s in SERIALS[:per_page]}
    # Outside the scratch-off area: every DataMatrix lies in its label's outer box.
    k = 300 / 25.4
    for r in found:
        p = r.position
        x, y = (p.top_left.x + p.bottom_right.x) / 2 / k, (p.top_left.y + p.bottom_right.y) / 2 / k
        slot = next(i for i in range(t.labels_per_page)
                    if 0 <= x - t.label_origin_mm(i)[0] <= t.label_mm[0]
                    and 0 <= y - t.label_origin_mm(i)[1] <= t.label_mm[1])
        ox, oy = t.label_origin_mm(slot)
        bx, by, bw, bh = t.outer_box_mm
        assert bx <= x - ox <= bx + bw and by <= y - oy <= by + bh
    zpl = tmp_path / "units.zpl"
    print_labels([dataclasses.replace(chunks[0], codes=chunks[0].codes[:3], payloads=chunks[0].payloads[:3],
                                      serials=chunks[0].serials[:3])],
                 zpl, PrintOptions(template=t, fmt="zpl", outer_code=True))
    images = _render_zpl(tmp_path, zpl.read_text(encoding="utf-8"), t.label_mm, 203)
    for image, serial in zip(images, SERIALS, strict=True):
        found_zpl = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.DataMatrix)
        assert [r.text for r in found_zpl] == [serial]


def test_outer_code_needs_a_template_that_declares_it(tmp_path: Path) -> None:
    with pytest.raises(TemplateInvalid) as err:
        print_labels(_unit_chunks(), tmp_path / "u.pdf",
                     PrintOptions(template=BUILTIN["a4-3x8"], outer_code=True, workers=1))
    assert err.value.facts["reason"] == "it declares no outer_box_mm for an outer code"
    assert not (tmp_path / "u.pdf").exists()


def test_unit_and_logistic_templates_are_not_interchangeable(tmp_path: Path) -> None:
    with pytest.raises(TemplateInvalid, match="use print-logistic"):
        print_labels(_unit_chunks(), tmp_path / "u.pdf", PrintOptions(template=BUILTIN["a6-sscc"], workers=1))
    with pytest.raises(TemplateInvalid, match="no barcode box"):
        print_logistic(LABELS, tmp_path / "c.pdf", BUILTIN["a4-3x8"], host=HOST)


def test_labels_from_facts() -> None:
    facts = [{"sscc": "069012340000000177", "kind": "case", "quantity": 24, "cases": 1,
              "products": [{"batch": 2, "sku": "TEA-250", "name": "Jasmine", "gtin": None, "quantity": 24}]},
             {"sscc": "069012340000000184", "kind": "pallet", "quantity": 0, "cases": 0, "products": []}]
    case, pallet = labels_from_facts(facts)
    assert case.lines() == ["CASE  SSCC 069012340000000177", "TEA-250 Jasmine", "QTY 24", "BATCH 2"]
    assert pallet.lines() == ["PALLET  SSCC 069012340000000184", "", "", ""]
