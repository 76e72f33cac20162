"""ZPL through a real ZPL renderer: every shipped template, every printhead resolution,
every error-correction level, with a mixed-case GS1 Digital Link payload and with the
default payload.

The renderer is the npm package zpl-renderer-js (a WebAssembly build of a Go ZPL
renderer), run by Node; `.ci/system-packages` installs both into /opt/loyalcode-zpl
(`LOYALCODE_ZPL_RENDERER` names another folder holding its node_modules). Each label is
decoded with zxing-cpp and measured: the symbol is the size the layout planned (so the
printer encoded exactly the planned version), it has at least 4 modules of quiet zone on
every side inside the label, and no ink leaves the template's safe area. The renderer
is a check, not the authority: the field data follows the ZPL II Programming Guide (see
loyalcode.printing.zpl).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from loyalcode.printing.qr import EC_LEVELS, QUIET_ZONE
from loyalcode.printing.run import PrintOptions, print_labels
from loyalcode.printing.templates import BUILTIN
from loyalcode.printing.zpl import ZPL_DPI
from tests.conftest import IN_CI
from tests.printing.support import synthetic_chunks

RENDERER_DIR = Path(os.environ.get("LOYALCODE_ZPL_RENDERER", "/opt/loyalcode-zpl"))
SCRIPT = Path(__file__).with_name("render_zpl.cjs")
DOTS_PER_MM = {152: 6, 203: 8, 300: 12, 600: 24}  # the renderer takes whole dots a mm
PAYLOADS = {
    "gs1-digital-link": "https://id.gs1.org/01/09506000134352/21/",  # mixed case: byte mode
    "default": "HTTPS://LC.EXAMPLE.COM/C/",  # upper case: alphanumeric mode
}
CASES = [(t, dpi, ec, p) for t in sorted(n for n, v in BUILTIN.items() if not (v.logistic or v.has_outer_code)) for dpi in ZPL_DPI for ec in EC_LEVELS for p in PAYLOADS]


@dataclass(frozen=True)
class Rendered:
    image: np.ndarray  # the label, 8-bit grey, cropped to ^PW x ^LL
    payload: str
    magnification: int
    version: int
    dpi: int


def _renderer() -> Path:
    package = RENDERER_DIR / "node_modules" / "zpl-renderer-js"
    if shutil.which("node") and package.is_dir():
        return RENDERER_DIR / "node_modules"
    reason = f"no node or no zpl-renderer-js in {RENDERER_DIR} (run .ci/system-packages as root)"
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int, str, str], Rendered]:
    node_path = _renderer()
    tmp = tmp_path_factory.mktemp("zpl")
    jobs, meta = [], {}
    for i, (name, dpi, ec, kind) in enumerate(CASES):
        template = BUILTIN[name]
        (chunk,) = synthetic_chunks(1, seed=i, prefix=PAYLOADS[kind])
        out = tmp / f"{i}.zpl"
        result = print_labels([chunk], out, PrintOptions(template=template, fmt="zpl", dpi=dpi, ec=ec))
        zpl = out.read_text(encoding="utf-8")
        (mag,) = re.findall(r"\^BQN,2,(\d+)\^", zpl)
        (width, height) = (int(v) for v in re.search(r"\^PW(\d+)\^LL(\d+)", zpl).groups())  # type: ignore[union-attr]
        jobs.append({"zpl": zpl, "width_mm": template.label_mm[0], "height_mm": template.label_mm[1],
                     "dpmm": DOTS_PER_MM[dpi], "out": str(tmp / f"{i}.png")})
        meta[(name, dpi, ec, kind)] = (i, chunk.payloads[0], int(mag), result.qr_version, dpi, width, height)
    env = {**os.environ, "NODE_PATH": str(node_path)}
    subprocess.run(["node", str(SCRIPT)], input=json.dumps(jobs), text=True, env=env, check=True,
                   timeout=600)
    out = {}
    for key, (i, payload, mag, version, dpi, width, height) in meta.items():
        image = np.asarray(Image.open(tmp / f"{i}.png").convert("L"))
        assert image.shape[0] >= height and image.shape[1] >= width
        out[key] = Rendered(image[:height, :width].copy(), payload, mag, version, dpi)
    return out


def quiet_zone(ink: np.ndarray, box: tuple[int, int, int, int], module: int) -> dict[str, float]:
    """Clear modules beside each side of the symbol ``box`` (x0, y0, x1, y1): up to the
    nearest other ink in the band the side faces (4 modules wider on each end), or the
    label's edge."""
    x0, y0, x1, y1 = box
    h, w = ink.shape
    other = ink.copy()
    other[y0:y1, x0:x1] = False
    pad = QUIET_ZONE * module
    rows = slice(max(0, y0 - pad), y1 + pad)
    cols = slice(max(0, x0 - pad), x1 + pad)

    def clear(band: np.ndarray, toward_edge: int) -> float:
        hits = np.flatnonzero(band.any(axis=0))
        return (toward_edge if hits.size == 0 else int(hits[0])) / module

    return {
        "left": clear(other[rows, :x0][:, ::-1], x0),
        "right": clear(other[rows, x1:], w - x1),
        "top": clear(other[:y0, cols][::-1].T, y0),
        "bottom": clear(other[y1:, cols].T, h - y1),
    }


@pytest.mark.parametrize("name, dpi, ec, kind", CASES)
def test_zpl_symbol_is_planned_with_quiet_zone_inside_safe_area(
        rendered: dict[tuple[str, int, str, str], Rendered], name: str, dpi: int, ec: str, kind: str) -> None:
    r = rendered[(name, dpi, ec, kind)]
    found = zxingcpp.read_barcodes(r.image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [f.text for f in found] == [r.payload]
    p = found[0].position
    xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
    m = r.magnification
    ink = r.image < 128
    window = ink[max(0, min(ys) - m): max(ys) + m + 1, max(0, min(xs) - m): max(xs) + m + 1]
    wy, wx = np.nonzero(window)
    x0, y0 = max(0, min(xs) - m) + int(wx.min()), max(0, min(ys) - m) + int(wy.min())
    box = (x0, y0, max(0, min(xs) - m) + int(wx.max()) + 1, max(0, min(ys) - m) + int(wy.max()) + 1)
    side = (17 + 4 * r.version) * m
    assert (box[2] - box[0], box[3] - box[1]) == (side, side), "the printer encoded another version"
    zone = quiet_zone(ink, box, m)
    assert min(zone.values()) >= QUIET_ZONE, zone
    # No ink outside the template's safe area (one dot of rounding).
    safe = BUILTIN[name].safe_mm * dpi / 25.4
    iy, ix = np.nonzero(ink)
    h, w = ink.shape
    assert ix.min() >= safe - 1 and iy.min() >= safe - 1, (ix.min(), iy.min(), safe)
    assert ix.max() + 1 <= w - safe + 1 and iy.max() + 1 <= h - safe + 1, (ix.max(), iy.max(), w, h, safe)
