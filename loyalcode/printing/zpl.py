"""ZPL II for Zebra thermal printers: one ``^XA ... ^XZ`` block per label.

Positions come from the same :class:`~loyalcode.printing.layout.SheetLayout` as the
raster formats, computed on a one-label page at the printer's resolution, so a ZPL
label looks like its PDF twin. The printer draws the QR itself and the text in its
scalable font 0. A caption is rendered once as a bitmap, stored on the printer with
``~DG`` at the start of the job and recalled with ``^XG`` on every label, so a Chinese
caption prints right without a CJK font on the printer.

The QR symbol is the one the layout planned, not one the printer chooses. The ZPL II
Programming Guide (^BQ, "Considerations for ^FD When Using the QR Code") lays the field
data out as ``<error correction><data input>,<character mode><data>``: error correction
``H|Q|M|L``; data input ``A`` (automatic: the printer picks the character modes) or
``M`` (manual: the character mode must follow the comma); character mode ``N``
(numeric), ``A`` (alphanumeric) or ``Bxxxx`` (8-bit bytes, ``xxxx`` the count in four
digits). Automatic input lets the firmware split a mixed-case URL into segments its own
way, which came out one version larger than planned (a thinner quiet zone). So every
label uses manual input with one segment in the narrowest mode that holds its payload,
e.g. ``^FDMM,B0056https://id.gs1.org/...`` or ``^FDQM,AHTTPS://LC.EXAMPLE.COM/C/...``,
and the layout sizes the symbol for exactly that segment
(:func:`~loyalcode.printing.qr.segment_version`): the printer picks the smallest version
that holds it, as any QR encoder does.

Two more details keep the symbol where the layout put it: ``^BQ`` magnification is 1 to
10 dots a module, so at 600 dpi the module is capped at 10 dots and the smaller symbol
is centred in its square; and firmware drops a ``^FO`` QR code by the current ``^BY``
bar height (10 dots at power-up, but it persists from whatever ran before), so each
label pins it to 1 dot, places the field 1 dot higher, and sets the power-up default
back after the symbol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from loyalcode.printing.errors import InvalidDpi, PayloadTooLong
from loyalcode.printing.layout import SheetSpec
from loyalcode.printing.qr import segment_capacity, segment_mode, segment_version
from loyalcode.printing.sheets import PageRenderer

#: Print resolutions of Zebra printheads (6, 8, 12 and 24 dots/mm).
ZPL_DPI = (152, 203, 300, 600)
CAPTION_GRAPHIC = "R:LCCAPT.GRF"
#: Largest ``^BQ`` magnification (dots a module).
MAX_MAGNIFICATION = 10
#: ``^BY`` bar height pinned while a QR is placed: a ``^FO`` QR drops by this many dots.
QR_DROP = 1
_BY_PIN = f"^BY2,3,{QR_DROP}"
_BY_DEFAULT = "^BY2,3,10"  # the printer's power-up defaults


def check_zpl_dpi(dpi: int) -> int:
    """``dpi`` if a Zebra printhead has it, else :class:`InvalidDpi`."""
    if dpi not in ZPL_DPI:
        raise InvalidDpi(
            f"ZPL printers print at {', '.join(map(str, ZPL_DPI))} dpi, got {dpi!r}.",
            value=dpi, minimum=min(ZPL_DPI), maximum=max(ZPL_DPI),
        )
    return dpi


#: Width of font 0 characters as a share of their height. The text is fitted to its box
#: in the monospace face of the raster formats; font 0 at full width runs a few per cent
#: wider than that, which pushed the code past its box (and the safe area) at 203 dpi.
FONT0_WIDTH = 0.9


def _width(height: int) -> int:
    return max(1, round(height * FONT0_WIDTH))


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
        self.renderer = r = PageRenderer(replace(spec, template=one, max_module_px=MAX_MAGNIFICATION))
        layout = r.layout
        self.code_lines = layout.code_lines
        width, height = layout.page_px
        qx, qy = (int(v) for v in layout.qr_xy[0])
        tx, ty = (int(v) for v in layout.text_xy[0])
        box_w = layout.text_box_px[0]
        mag = layout.module_px
        parts = [f"^XA^CI28^PW{width}^LL{height}^LH0,0",
                 f"{_BY_PIN}^FO{qx},{qy - QR_DROP}^BQN,2,{mag}%s{_BY_DEFAULT}"]
        code_h = layout.code_px
        for at in r.code_at:
            parts.append(f"^FO{tx},{ty + at.dy}^A0N,{code_h},{_width(code_h)}^FB{box_w},1,0,C^FD%s^FS")
        if spec.with_serial:
            serial_h = layout.serial_px
            parts.append(
                f"^FO{tx},{ty + r.serial_at.dy}^A0N,{serial_h},{_width(serial_h)}^FB{box_w},1,0,C^FD%s^FS"
            )
        self.header = ""
        if r.caption is not None:
            bitmap = r.caption
            packed = np.packbits(bitmap, axis=1)  # ZPL graphics: 1 = black
            rows, row_bytes = packed.shape
            self.header = f"~DG{CAPTION_GRAPHIC},{rows * row_bytes},{row_bytes},{packed.tobytes().hex().upper()}\n"
            parts.append(f"^FO{tx + r.caption_at.dx},{ty + r.caption_at.dy}^XG{CAPTION_GRAPHIC},1,1^FS")
        self.outer = spec.outer_code
        if not self.outer:
            parts.append("^XZ\n")
        self._format = "".join(parts)
        self._ec = spec.ec
        self.version = spec.version
        self._capacity = {mode: segment_capacity(mode, spec.version, spec.ec) for mode in ("N", "A", "B")}
        self.with_serial = spec.with_serial

    def outer_field(self, serial: str) -> str:
        """The outer code: the printer draws the visible serial as an ECC 200 DataMatrix
        (``^BX``) of the size the layout planned, centred in the outer box."""
        from loyalcode.printing.barcodes import datamatrix

        layout = self.renderer.layout
        side = datamatrix(serial).shape[0]
        x, y = layout.outer_xy_px(0, side * layout.outer_module_px)
        return f"^FO{x},{y}^BXN,{layout.outer_module_px},200,{side},{side}^FD{serial}^FS^XZ\n"

    def qr_field(self, payload: str, mode: str | None = None) -> str:
        """The ``^FD`` of the QR for ``payload``: manual input, one segment in ``mode``
        (default: the narrowest that holds it), ``^FH`` hex escapes when needed.

        :class:`PayloadTooLong` if that segment needs a larger symbol than the run's.
        """
        mode = mode or segment_mode(payload)
        raw = payload.encode("utf-8")
        if len(raw) > self._capacity[mode] if mode == "B" else len(payload) > self._capacity[mode]:
            need = segment_version([payload], self._ec, mode)
            raise PayloadTooLong(
                length=len(payload),
                reason=f"it needs a version {need}-{self._ec} QR and the run is laid out for {self.version}",
            )
        head = f"B{len(raw):04d}" if mode == "B" else mode
        if "^" in payload or "~" in payload:
            return f"^FH_^FD{self._ec}M,{head}{_escape(payload)}^FS"
        return f"^FD{self._ec}M,{head}{payload}^FS"

    def qr_fields(self, payloads: Sequence[str]) -> list[str]:
        """The QR ``^FD`` of each payload; a chunk whose payloads share one mode and fit
        the run's symbol (the usual case) is checked once, not payload by payload."""
        joined = "".join(payloads)
        mode = segment_mode(joined)
        longest = max(map(len, payloads), default=0)
        plain = "^" not in joined and "~" not in joined
        if not plain or not joined.isascii() or longest > self._capacity[mode]:
            return [self.qr_field(p) for p in payloads]
        ec = self._ec
        if mode == "B":
            return [f"^FD{ec}M,B{len(p):04d}{p}^FS" for p in payloads]
        return [f"^FD{ec}M,{mode}{p}^FS" for p in payloads]

    def format(self, codes: Sequence[str], payloads: Sequence[str], serials: Sequence[str] | None) -> str:
        """ZPL for a run of labels (one block per label)."""
        fmt = self._format
        out: list[str] = []
        append = out.append
        lines = self.code_lines
        fields = self.qr_fields(payloads)
        if self.outer and serials is None:
            raise PayloadTooLong(length=0, reason="an outer code needs the visible serials")
        for i, code in enumerate(codes):
            qr = fields[i]
            if lines == 2:
                text: tuple[str, ...] = (f"{code[0:4]}-{code[4:8]}", f"{code[8:12]}-{code[12:16]}")
            elif lines == 1:
                text = (f"{code[0:4]}-{code[4:8]}-{code[8:12]}-{code[12:16]}",)
            else:
                text = (code[0:4], code[4:8], code[8:12], code[12:16])
            if self.outer and serials is not None:
                append(fmt % (qr, *text, serials[i]) + self.outer_field(serials[i]))
            elif self.with_serial and serials is not None:
                append(fmt % (qr, *text, serials[i]))
            elif self.with_serial:
                append(fmt % (qr, *text, ""))
            else:
                append(fmt % (qr, *text))
        return "".join(out)
