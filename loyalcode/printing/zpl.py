"""ZPL II for Zebra thermal printers: one ``^XA ... ^XZ`` block per label.

Positions come from the same :class:`~loyalcode.printing.layout.SheetLayout` as the
raster formats, computed on a one-label page at the printer's resolution, so a ZPL
label looks like its PDF twin. The printer draws the QR itself (``^BQN,2,mag`` with
``^FD<ec>A,payload``: the error-correction letter leads the field data) and the text in
its scalable font 0. A caption is rendered once as a bitmap, stored on the printer
with ``~DG`` at the start of the job and recalled with ``^XG`` on every label, so a
Chinese caption prints right without a CJK font on the printer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from loyalcode.printing.errors import InvalidDpi
from loyalcode.printing.layout import SheetSpec
from loyalcode.printing.sheets import PageRenderer

#: Print resolutions of Zebra printheads (6, 8, 12 and 24 dots/mm).
ZPL_DPI = (152, 203, 300, 600)
CAPTION_GRAPHIC = "R:LCCAPT.GRF"


def check_zpl_dpi(dpi: int) -> int:
    """``dpi`` if a Zebra printhead has it, else :class:`InvalidDpi`."""
    if dpi not in ZPL_DPI:
        raise InvalidDpi(
            f"ZPL printers print at {', '.join(map(str, ZPL_DPI))} dpi, got {dpi!r}.",
            value=dpi, minimum=min(ZPL_DPI), maximum=max(ZPL_DPI),
        )
    return dpi


def _escape(text: str) -> str:
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


class ZplLabels:
    """Formats the labels of one run as ZPL text."""

    def __init__(self, spec: SheetSpec) -> None:
        check_zpl_dpi(spec.dpi)
        t = spec.template
        one = replace(
            t, page_mm=t.label_mm, rows=1, columns=1, margin_mm=(0.0, 0.0), pitch_mm=t.label_mm,
        )
        self.renderer = r = PageRenderer(replace(spec, template=one))
        layout = r.layout
        self.code_lines = layout.code_lines
        width, height = layout.page_px
        qx, qy = (int(v) for v in layout.qr_xy[0])
        tx, ty = (int(v) for v in layout.text_xy[0])
        box_w = layout.text_box_px[0]
        mag = max(1, min(10, layout.module_px))
        parts = [f"^XA^CI28^PW{width}^LL{height}^LH0,0", f"^FO{qx},{qy}^BQN,2,{mag}%s"]
        code_h = layout.code_px
        for at in r.code_at:
            parts.append(f"^FO{tx},{ty + at.dy}^A0N,{code_h},{code_h}^FB{box_w},1,0,C^FD%s^FS")
        if spec.with_serial:
            serial_h = layout.serial_px
            parts.append(f"^FO{tx},{ty + r.serial_at.dy}^A0N,{serial_h},{serial_h}^FB{box_w},1,0,C^FD%s^FS")
        self.header = ""
        if r.caption is not None:
            bitmap = r.caption
            packed = np.packbits(bitmap, axis=1)  # ZPL graphics: 1 = black
            rows, row_bytes = packed.shape
            self.header = f"~DG{CAPTION_GRAPHIC},{rows * row_bytes},{row_bytes},{packed.tobytes().hex().upper()}\n"
            parts.append(f"^FO{tx + r.caption_at.dx},{ty + r.caption_at.dy}^XG{CAPTION_GRAPHIC},1,1^FS")
        parts.append("^XZ\n")
        self._format = "".join(parts)
        self._ec = spec.ec
        self.with_serial = spec.with_serial

    def qr_field(self, payload: str) -> str:
        """The ``^FD`` of the QR for ``payload`` (``^FH`` hex escapes when needed)."""
        if "^" in payload or "~" in payload:
            return f"^FH_^FD{self._ec}A,{_escape(payload)}^FS"
        return f"^FD{self._ec}A,{payload}^FS"

    def format(self, codes: Sequence[str], payloads: Sequence[str], serials: Sequence[str] | None) -> str:
        """ZPL for a run of labels (one block per label)."""
        fmt, ec = self._format, self._ec
        out: list[str] = []
        append = out.append
        lines = self.code_lines
        for i, code in enumerate(codes):
            payload = payloads[i]
            qr = self.qr_field(payload) if ("^" in payload or "~" in payload) else f"^FD{ec}A,{payload}^FS"
            if lines == 2:
                text: tuple[str, ...] = (f"{code[0:4]}-{code[4:8]}", f"{code[8:12]}-{code[12:16]}")
            elif lines == 1:
                text = (f"{code[0:4]}-{code[4:8]}-{code[8:12]}-{code[12:16]}",)
            else:
                text = (code[0:4], code[4:8], code[8:12], code[12:16])
            if self.with_serial and serials is not None:
                append(fmt % (qr, *text, serials[i]))
            elif self.with_serial:
                append(fmt % (qr, *text, ""))
            else:
                append(fmt % (qr, *text))
        return "".join(out)
