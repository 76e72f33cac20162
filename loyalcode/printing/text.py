"""Text as 1-bit bitmaps, fast.

Codes and serials use a tiny alphabet (32 symbols, ``-`` and a few more for serials), so
each glyph is rendered once by FreeType (through Pillow) into a fixed monospace cell and
cached; a whole page of strings is then one numpy gather. Captions are the same on every
label, so they are rendered once per run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from loyalcode.printing.errors import InvalidInput


class GlyphTable:
    """Monospace glyph cells of one font at one pixel size; ``True`` = ink."""

    def __init__(self, font_path: str | Path, size_px: int) -> None:
        self.font = ImageFont.truetype(str(font_path), size_px)
        self.size_px = size_px
        ascent, descent = self.font.getmetrics()
        self.ascent = ascent
        self.height = ascent + descent
        self.advance = max(1, round(self.font.getlength("0")))
        # Index 0 is the blank cell; byte value -> cell index.
        self._index = np.zeros(256, dtype=np.intp)
        self._cells: list[np.ndarray] = [np.zeros((self.height, self.advance), dtype=bool)]
        self._table = np.stack(self._cells)

    def _add(self, ch: str) -> None:
        image = Image.new("L", (self.advance, self.height), 0)
        ImageDraw.Draw(image).text((0, 0), ch, font=self.font, fill=255)
        self._cells.append(np.asarray(image) >= 128)
        self._index[ord(ch)] = len(self._cells) - 1
        self._table = np.stack(self._cells)

    def render(self, lines: list[str]) -> np.ndarray:
        """Bitmaps of equally long ASCII strings: shape (len(lines), height, length * advance)."""
        if not lines:
            return np.zeros((0, self.height, 0), dtype=bool)
        length = len(lines[0])
        try:
            raw = "".join(lines).encode("ascii")
        except UnicodeEncodeError:
            raise InvalidInput(detail="codes and serials must be ASCII text") from None
        if len(raw) != length * len(lines):
            raise InvalidInput(detail="render() needs strings of one length; pad them first")
        codes = np.frombuffer(raw, dtype=np.uint8)
        for value in np.unique(codes):
            if self._index[value] == 0 and value != 32:
                self._add(chr(value))
        cells = self._table[self._index[codes]]  # (n * length, h, w)
        n = len(lines)
        cells = cells.reshape(n, length, self.height, self.advance).transpose(0, 2, 1, 3)
        return cells.reshape(n, self.height, length * self.advance)

    def width(self, chars: int) -> int:
        return chars * self.advance


def render_caption(text: str, font_path: str | Path, size_px: int) -> np.ndarray:
    """A one-line caption as a tight-height boolean bitmap (``True`` = ink)."""
    font = ImageFont.truetype(str(font_path), size_px, index=0)
    ascent, descent = font.getmetrics()
    width = max(1, int(np.ceil(font.getlength(text))))
    image = Image.new("L", (width, ascent + descent), 0)
    ImageDraw.Draw(image).text((0, 0), text, font=font, fill=255)
    return np.asarray(image) >= 128


def caption_width_px(text: str, font_path: str | Path, size_px: int) -> int:
    """Width of the bitmap :func:`render_caption` makes for ``text`` at ``size_px``."""
    font = ImageFont.truetype(str(font_path), size_px, index=0)
    return max(1, int(np.ceil(font.getlength(text))))


def caption_width_em(text: str, font_path: str | Path) -> float:
    """Width of ``text`` in ems (at size 1) in the given font."""
    font = ImageFont.truetype(str(font_path), 100, index=0)
    return font.getlength(text) / 100.0


def mono_advance_em(font_path: str | Path) -> float:
    """Advance width of the monospace face in ems."""
    font = ImageFont.truetype(str(font_path), 100)
    return font.getlength("0") / 100.0
