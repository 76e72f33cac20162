"""Where everything goes on a page, in printer pixels, for one run.

A :class:`SheetSpec` is everything a renderer needs (picklable, no key, no database);
:class:`SheetLayout` turns it into pixel positions once: the QR symbol's top-left corner
for every label slot of a page, the module size, and the text lines (code in groups of
four, serial, caption) fitted to the template's text box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from loyalcode.printing.errors import InvalidCaption, InvalidDpi, LabelTooSmall, TemplateInvalid
from loyalcode.printing.fonts import MONO_FONT
from loyalcode.printing.qr import QUIET_ZONE
from loyalcode.printing.templates import Template
from loyalcode.printing.text import GlyphTable, caption_width_em, caption_width_px, mono_advance_em

DPI_MIN, DPI_MAX = 72, 1200
#: The smallest text, in pixels, a label carries (code, or a caption that must shrink
#: to fit its width): below it the line is not legible.
MIN_TEXT_PX = 6
CODE_LENGTH = 16
#: Ways to break a 16-symbol code into lines of whole groups: (lines, characters per line).
CODE_SPLITS = ((1, 19), (2, 9), (4, 4))
_LINE_GAP = 0.12  # extra space between text blocks, in ems of the code face


def check_dpi(dpi: int) -> int:
    """``dpi`` if it is a whole number in 72..1200, else :class:`InvalidDpi`."""
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not DPI_MIN <= dpi <= DPI_MAX:
        raise InvalidDpi(value=dpi, minimum=DPI_MIN, maximum=DPI_MAX)
    return dpi


@lru_cache(maxsize=256)
def _glyphs(size_px: int) -> GlyphTable:
    return GlyphTable(MONO_FONT, max(size_px, 1))


def _advance(size_px: int) -> int:
    """Advance of one character of the code face at ``size_px``, in whole pixels."""
    return _glyphs(size_px).advance


def group_lines(code: str, lines: int) -> list[str]:
    """The code in groups of four, on ``lines`` lines.

    >>> group_lines("7KX49QPM2HDF8W3T", 1)
    ['7KX4-9QPM-2HDF-8W3T']
    >>> group_lines("7KX49QPM2HDF8W3T", 2)
    ['7KX4-9QPM', '2HDF-8W3T']
    """
    groups = [code[i: i + 4] for i in range(0, len(code), 4)]
    per_line = len(groups) // lines
    return ["-".join(groups[i: i + per_line]) for i in range(0, len(groups), per_line)]


@dataclass(frozen=True, slots=True)
class SheetSpec:
    """Everything a page renderer needs for one run."""

    template: Template
    dpi: int
    version: int
    ec: str = "M"
    with_serial: bool = True
    serial_chars: int = 12
    caption: str | None = None
    caption_font: str | None = None
    mask: int | None = None
    mask_reference: int = 0
    max_module_px: int | None = None
    """Largest module in printer dots (ZPL's ``^BQ`` magnification stops at 10)."""
    outer_code: bool = False
    """Print each label's visible serial as a DataMatrix in the template's outer box."""


@dataclass(frozen=True, slots=True)
class TextLine:
    """One text element of a label: its pixel size and offset from the label's text box."""

    size_px: int
    chars: int


class SheetLayout:
    """Pixel geometry of one run's pages."""

    def __init__(self, spec: SheetSpec) -> None:
        check_dpi(spec.dpi)
        t = spec.template
        self.spec = spec
        self.px_per_mm = spec.dpi / 25.4
        self.page_px = (round(t.page_mm[0] * self.px_per_mm), round(t.page_mm[1] * self.px_per_mm))
        self.modules = 17 + 4 * spec.version
        side_px = math.floor(t.qr_size_mm * self.px_per_mm + 1e-9)
        self.module_px = side_px // (self.modules + 2 * QUIET_ZONE)
        if spec.max_module_px is not None:
            self.module_px = min(self.module_px, spec.max_module_px)
        if self.module_px < 1:
            raise LabelTooSmall(
                name=t.name, dpi=spec.dpi,
                reason=f"a {self.modules}-module QR does not fit {t.qr_size_mm} mm; raise the DPI",
            )
        self.symbol_px = self.modules * self.module_px
        if spec.outer_code:
            self._fit_outer()
        self._fit_text()
        self._place()

    # --- text ---------------------------------------------------------------------

    def _fit_text(self) -> None:
        spec, t = self.spec, self.spec.template
        box_w = t.text_box_mm[2] * self.px_per_mm
        box_h = t.text_box_mm[3] * self.px_per_mm
        adv = mono_advance_em(MONO_FONT)
        line_h = 1.17  # DejaVu Sans Mono ascent + descent, in ems
        cap_em = 0.0
        if spec.caption:
            assert spec.caption_font is not None, "a caption's font is located before layout"
            cap_em = caption_width_em(spec.caption, spec.caption_font)
        best: tuple[float, int, int] | None = None
        for lines, chars in CODE_SPLITS:
            size = box_w / (chars * adv)
            units = lines * line_h + _LINE_GAP * 2
            if spec.with_serial:
                units += 0.75 * line_h
            if spec.caption:
                units += 0.85 * line_h
            size = min(size, box_h / units, 6.0 * self.px_per_mm)
            if best is None or size > best[0] + 0.5:
                best = (size, lines, chars)
        assert best is not None
        size, self.code_lines, chars = best
        code_px = math.floor(size)
        while True:
            if code_px < MIN_TEXT_PX:
                raise LabelTooSmall(
                    name=t.name, dpi=spec.dpi, reason="the text box is too small for a legible code"
                )
            serial_px = min(math.floor(0.75 * code_px), math.floor(box_w / (max(spec.serial_chars, 1) * adv)))
            while serial_px > 1 and _advance(serial_px) * spec.serial_chars > box_w:
                serial_px -= 1  # whole-dot advances can add up past the box
            caption_px = min(math.floor(0.85 * code_px), math.floor(box_w / cap_em)) if spec.caption else 0
            while caption_px > 1 and spec.caption and caption_width_px(
                    spec.caption, spec.caption_font or MONO_FONT, caption_px) > box_w:
                caption_px -= 1
            heights = [self._line_height(code_px)] * self.code_lines
            if spec.with_serial:
                heights.append(self._line_height(serial_px))
            if spec.caption:
                heights.insert(0, self._line_height(caption_px))
            gap = round(_LINE_GAP * code_px)
            total = sum(heights) + gap * (2 if spec.caption and spec.with_serial else 1)
            if total <= box_h and chars * _advance(code_px) <= box_w:
                break
            code_px -= 1
        if spec.caption and caption_px < MIN_TEXT_PX:
            raise InvalidCaption(
                length=len(spec.caption), name=t.name, dpi=spec.dpi,
                reason=f"it would print {caption_px} pixels high (at least {MIN_TEXT_PX} are legible); shorten it",
            )
        self.code_px, self.serial_px, self.caption_px = code_px, serial_px, caption_px
        self.code_chars = chars
        self.text_block_px = total
        self.text_gap_px = gap

    def _fit_outer(self) -> None:
        """The outer code's module: whole dots, the largest that fits the outer box for
        a serial of the run's length (with the DataMatrix quiet zone), at most 0.5 mm."""
        from loyalcode.printing.barcodes import DATAMATRIX_QUIET, datamatrix

        spec, t = self.spec, self.spec.template
        if not spec.with_serial:
            raise TemplateInvalid(name=t.name, reason="an outer code is the visible serial: drop --no-serial")
        if not t.has_outer_code:
            raise TemplateInvalid(name=t.name, reason="it declares no outer_box_mm for an outer code")
        side = min(t.outer_box_mm[2], t.outer_box_mm[3]) * self.px_per_mm
        modules = datamatrix("W" * max(spec.serial_chars, 1)).shape[0] + 2 * DATAMATRIX_QUIET
        self.outer_module_px = min(math.floor(side / modules + 1e-9), max(1, math.floor(0.5 * self.px_per_mm)))
        if self.outer_module_px < 1:
            raise LabelTooSmall(name=t.name, dpi=spec.dpi, reason="the outer code does not fit its box")

    @staticmethod
    def _line_height(size_px: int) -> int:
        return _glyphs(size_px).height

    # --- positions ----------------------------------------------------------------

    def _place(self) -> None:
        """Label-slot positions in page pixels: QR top-left and text-box top-left."""
        t = self.spec.template
        k = self.px_per_mm
        qr, text = [], []
        for i in range(t.labels_per_page):
            ox, oy = t.label_origin_mm(i)
            cx, cy = t.place_mm(ox + t.qr_center_mm[0], oy + t.qr_center_mm[1])
            qr.append((round(cx * k - self.symbol_px / 2), round(cy * k - self.symbol_px / 2)))
            bx, by = t.place_mm(ox + t.text_box_mm[0], oy + t.text_box_mm[1])
            text.append((round(bx * k), round(by * k)))
        self.outer_xy = np.array([t.place_mm(ox + t.outer_box_mm[0], oy + t.outer_box_mm[1])
                                  for ox, oy in (t.label_origin_mm(i) for i in range(t.labels_per_page))],
                                 dtype=np.float64) * k
        self.outer_box_px = (t.outer_box_mm[2] * k, t.outer_box_mm[3] * k)
        self.qr_xy = np.array(qr, dtype=np.int64)
        self.text_xy = np.array(text, dtype=np.int64)
        self.text_box_px = (round(t.text_box_mm[2] * k), round(t.text_box_mm[3] * k))
        w, h = self.page_px
        if (self.qr_xy.min() < 0 or (self.qr_xy[:, 0] + self.symbol_px).max() > w
                or (self.qr_xy[:, 1] + self.symbol_px).max() > h
                or self.text_xy.min() < 0
                or (self.text_xy[:, 0] + self.text_box_px[0]).max() > w + 1
                or (self.text_xy[:, 1] + self.text_box_px[1]).max() > h + 1):
            raise TemplateInvalid(name=t.name, reason="calibration moves labels off the page")

    def outer_xy_px(self, slot: int, side_px: int) -> tuple[int, int]:
        """Top-left of an outer code of ``side_px`` in slot ``slot``: centred in the box."""
        x, y = self.outer_xy[slot]
        return (round(x + (self.outer_box_px[0] - side_px) / 2), round(y + (self.outer_box_px[1] - side_px) / 2))

    def qr_center_px(self, slot: int) -> tuple[float, float]:
        """Centre of the QR symbol of label slot ``slot`` in page pixels (float)."""
        x, y = self.qr_xy[slot]
        return (x + self.symbol_px / 2, y + self.symbol_px / 2)
