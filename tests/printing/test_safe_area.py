"""Safe areas: no ink within a template's safe inset of any label edge, on every shipped
template (rasterised by PDFium, a real PDF renderer); user templates set their own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from loyalcode.printing.errors import TemplateInvalid
from loyalcode.printing.run import PrintOptions, print_labels
from loyalcode.printing.templates import BUILTIN, EDGE_TO_EDGE_SAFE_MM, load_template_file
from tests.printing.support import decode, pdf_pages, synthetic_chunks

DPI = 300
# The longest serial and a caption as wide as the text box allows: ink reaches furthest.
CAPTION = "Scratch here, scan for points"


def _safe_mask(name: str, shape: tuple[int, int]) -> np.ndarray:
    """``True`` inside some label's safe area, in page pixels."""
    t = BUILTIN[name]
    k = DPI / 25.4
    mask = np.zeros(shape, dtype=bool)
    x, y, w, h = t.safe_box_mm()
    for slot in range(t.labels_per_page):
        ox, oy = t.label_origin_mm(slot)
        x0, y0 = t.place_mm(ox + x, oy + y)
        x1, y1 = t.place_mm(ox + x + w, oy + y + h)
        mask[int(np.floor(y0 * k)): int(np.ceil(y1 * k)), int(np.floor(x0 * k)): int(np.ceil(x1 * k))] = True
    return mask


@pytest.mark.parametrize("name", sorted(n for n, t in BUILTIN.items() if not t.logistic))
def test_no_ink_outside_the_safe_areas_of_any_pdf_template(tmp_path: Path, name: str) -> None:
    template = BUILTIN[name]
    chunks = synthetic_chunks(template.labels_per_page, prefix="https://id.gs1.org/01/09506000134352/21/")
    for chunk in chunks:
        chunk.serials[:] = ["WWWWWWWWWWWW"] * len(chunk.serials)  # type: ignore[index]
    out = tmp_path / "sheet.pdf"
    print_labels(chunks, out, PrintOptions(template=template, fmt="pdf", dpi=DPI, caption=CAPTION))
    (page,) = pdf_pages(out, DPI)
    ink = page < 128
    assert ink.sum() > 0
    outside = ink & ~_safe_mask(name, ink.shape)
    ys, xs = np.nonzero(outside)
    assert outside.sum() == 0, f"{outside.sum()} ink pixels outside, first at x={xs[:1]} y={ys[:1]}"
    assert len(decode(page)) == template.labels_per_page


def test_shipped_edge_to_edge_stock_keeps_3_mm() -> None:
    # a4-3x8 has no margins, the roll labels are their page, L7160 and 5160 rows touch.
    assert {t.name: t.safe_mm for t in BUILTIN.values()} == dict.fromkeys(BUILTIN, EDGE_TO_EDGE_SAFE_MM)


def _load(tmp_path: Path, entries: list[dict]) -> dict:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(entries))
    return load_template_file(path)


def test_user_templates_set_their_safe_inset(tmp_path: Path) -> None:
    loaded = _load(tmp_path, [
        {"name": "gapped", "page_mm": [210, 297], "label_mm": [90, 50], "rows": 4, "columns": 2,
         "margin_mm": [10, 20], "pitch_mm": [100, 60]},
        {"name": "wide-safe", "extends": "a4-3x8", "safe_mm": 5},
    ])
    assert loaded["gapped"].safe_mm == 1.5  # gaps all round: the die-cut tolerance
    wide = loaded["wide-safe"]
    assert wide.safe_mm == 5.0 and wide.qr_size_mm == 37 - 10  # laid out anew inside 5 mm
    x, y, w, h = wide.text_box_mm
    assert x >= 5 and y >= 5 and x + w <= 70 - 5 + 1e-9 and y + h <= 37 - 5 + 1e-9


@pytest.mark.parametrize("entry, words", [
    ({"safe_mm": 19}, "leaves no room"),
    ({"safe_mm": -1}, "leaves no room"),
    ({"safe_mm": "3"}, "safe_mm must be a number"),
    ({"qr_center_mm": [17, 18.5], "qr_size_mm": 31}, "reaches into the 3.0 mm safe inset"),
    ({"text_box_mm": [34.75, 3, 34, 31]}, "text box is not inside the 3.0 mm safe area"),
])
def test_content_outside_the_safe_area_is_refused(tmp_path: Path, entry: dict, words: str) -> None:
    with pytest.raises(TemplateInvalid) as err:
        _load(tmp_path, [{"name": "bad", "extends": "a4-3x8", **entry}])
    assert err.value.code == "template_invalid" and words in err.value.message
