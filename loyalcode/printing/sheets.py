"""Compose label pages as 1-bit numpy bitmaps (``True`` = ink).

A :class:`PageRenderer` is built once per run (per worker process) from a
:class:`~loyalcode.printing.layout.SheetSpec`; :meth:`PageRenderer.render` turns up to
one page of labels into a page bitmap: each QR symbol is upscaled with ``np.repeat``
and placed with one slice assignment, each text line is a gather of cached glyph cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from loyalcode.errors import InvalidInput
from loyalcode.printing.fonts import MONO_FONT
from loyalcode.printing.layout import SheetLayout, SheetSpec, group_lines
from loyalcode.printing.qr import QrEncoder
from loyalcode.printing.text import GlyphTable, render_caption


@dataclass(frozen=True, slots=True)
class PageLabels:
    """Up to one page of labels: parallel lists, in print order."""

    seq_start: int
    codes: Sequence[str]
    payloads: Sequence[str]
    serials: Sequence[str] | None


@dataclass(frozen=True, slots=True)
class Placed:
    """A bitmap's offset within the text box (pixels)."""

    dx: int
    dy: int


class PageRenderer:
    """Renders the pages of one run."""

    def __init__(self, spec: SheetSpec) -> None:
        self.spec = spec
        self.layout = layout = SheetLayout(spec)
        self.encoder = QrEncoder(spec.version, spec.ec)
        self.encoder.mask, self.encoder.reference = spec.mask, spec.mask_reference
        self.code_font = GlyphTable(MONO_FONT, layout.code_px)
        self.serial_font = GlyphTable(MONO_FONT, layout.serial_px) if spec.with_serial else None
        self.caption = (
            render_caption(spec.caption, spec.caption_font or MONO_FONT, layout.caption_px)
            if spec.caption else None
        )
        box_w, box_h = layout.text_box_px
        heights: list[int] = []
        if self.caption is not None:
            heights.append(self.caption.shape[0])
        heights += [self.code_font.height] * layout.code_lines
        if self.serial_font is not None:
            heights.append(self.serial_font.height)
        gaps = layout.text_gap_px * ((self.caption is not None) + (self.serial_font is not None))
        y = max(0, (box_h - sum(heights) - gaps) // 2)
        if self.caption is not None:
            self.caption_at = Placed(max(0, (box_w - self.caption.shape[1]) // 2), y)
            y += self.caption.shape[0] + layout.text_gap_px
        code_w = self.code_font.width(layout.code_chars)
        self.code_at = []
        for _ in range(layout.code_lines):
            self.code_at.append(Placed(max(0, (box_w - code_w) // 2), y))
            y += self.code_font.height
        if self.serial_font is not None:
            y += layout.text_gap_px
            serial_w = self.serial_font.width(spec.serial_chars)
            self.serial_at = Placed(max(0, (box_w - serial_w) // 2), y)

    @property
    def page_shape(self) -> tuple[int, int]:
        """(height, width) of a page bitmap."""
        return (self.layout.page_px[1], self.layout.page_px[0])

    def symbols(self, payloads: Sequence[str]) -> np.ndarray:
        """QR symbols of ``payloads`` as a boolean stack (B, n, n)."""
        return self.encoder.encode_many(list(payloads))

    def code_bitmaps(self, codes: Sequence[str]) -> list[np.ndarray]:
        """Per code line, a stack (B, h, w) of the human-readable code."""
        lines = self.layout.code_lines
        split = [group_lines(c, lines) for c in codes]
        return [self.code_font.render([s[i] for s in split]) for i in range(lines)]

    def serial_bitmaps(self, serials: Sequence[str]) -> np.ndarray:
        assert self.serial_font is not None
        width = self.spec.serial_chars
        if any(len(s) > width for s in serials):
            raise InvalidInput(detail=f"a visible serial is longer than the {width} characters laid out for it")
        return self.serial_font.render([s.center(width) for s in serials])

    def render(self, labels: PageLabels) -> np.ndarray:
        """One page bitmap (height, width) of booleans for up to a page of labels."""
        layout = self.layout
        count = len(labels.codes)
        if count > self.spec.template.labels_per_page:
            raise ValueError("more labels than slots on a page")
        page = np.zeros(self.page_shape, dtype=bool)
        if count == 0:
            return page
        m = layout.module_px
        symbols = self.symbols(labels.payloads)
        if m > 1:
            symbols = symbols.repeat(m, axis=1).repeat(m, axis=2)
        side = layout.symbol_px
        code_rows = self.code_bitmaps(labels.codes)
        serial_rows = (
            self.serial_bitmaps(labels.serials)
            if self.serial_font is not None and labels.serials is not None else None
        )
        for i in range(count):
            x, y = layout.qr_xy[i]
            page[y: y + side, x: x + side] = symbols[i]
            tx, ty = layout.text_xy[i]
            if self.caption is not None:
                self._blit(page, self.caption, tx + self.caption_at.dx, ty + self.caption_at.dy)
            for rows, at in zip(code_rows, self.code_at):
                self._blit(page, rows[i], tx + at.dx, ty + at.dy)
            if serial_rows is not None:
                self._blit(page, serial_rows[i], tx + self.serial_at.dx, ty + self.serial_at.dy)
        if self.spec.outer_code:
            self._outer_codes(page, labels)
        return page

    def _outer_codes(self, page: np.ndarray, labels: PageLabels) -> None:
        """Each label's visible serial as a DataMatrix, centred in the outer box."""
        from loyalcode.printing.barcodes import datamatrix

        if labels.serials is None:
            raise InvalidInput(detail="an outer code needs the visible serials")
        m = self.layout.outer_module_px
        for i, serial in enumerate(labels.serials):
            symbol = datamatrix(serial).repeat(m, axis=0).repeat(m, axis=1)
            x, y = self.layout.outer_xy_px(i, symbol.shape[0])
            self._blit(page, symbol, x, y)

    @staticmethod
    def _blit(page: np.ndarray, bitmap: np.ndarray, x: int, y: int) -> None:
        h, w = bitmap.shape
        ph, pw = page.shape
        h, w = min(h, ph - y), min(w, pw - x)
        if h > 0 and w > 0:
            page[y: y + h, x: x + w] |= bitmap[:h, :w]
