"""A minimal streaming PDF writer for 1-bit raster pages.

Each page is one image XObject (``/BitsPerComponent 1``, ``/FlateDecode``) drawn over
the whole page, so the printer gets exactly the pixels we composed at its DPI. Objects
are written as they come and only their byte offsets are kept (8 bytes a page object),
so memory stays flat however many pages a run has.

Object numbers: 1 catalog, 2 page tree, then three per page (image, content, page).
"""

from __future__ import annotations

import zlib
from array import array
from typing import BinaryIO

import numpy as np

from loyalcode.printing.png import pack_rows

MM_TO_PT = 72 / 25.4


def compress_page(page: np.ndarray, *, level: int = 1) -> bytes:
    """The Flate stream of a boolean page (``True`` = ink) as a 1-bit DeviceGray image."""
    return zlib.compress(pack_rows(page).tobytes(), level)


class PdfWriter:
    """Writes a PDF of full-page 1-bit images to a binary file object, page by page."""

    def __init__(self, out: BinaryIO, page_mm: tuple[float, float]) -> None:
        self._out = out
        self._pos = 0
        self._offsets = array("q", [0, 0, 0])  # index = object number; 1 and 2 filled at close
        self.page_mm = page_mm
        self.pages = 0
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._pos += len(data)

    def _begin(self, number: int) -> None:
        assert number == len(self._offsets)
        self._offsets.append(self._pos)
        self._write(b"%d 0 obj\n" % number)

    def add_page(self, stream: bytes, width_px: int, height_px: int, dpi: int) -> None:
        """Append one page whose content is a compressed 1-bit image of ``width_px``×``height_px``."""
        first = len(self._offsets)
        image, content, page = first, first + 1, first + 2
        self._begin(image)
        self._write(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 1 /Filter /FlateDecode /Length %d >>\nstream\n"
            % (width_px, height_px, len(stream))
        )
        self._write(stream)
        self._write(b"\nendstream\nendobj\n")
        # The page is exactly the image at the DPI's scale (the template's page size rounded
        # to whole printer dots, at most half a dot off), so a renderer at that DPI maps
        # one image pixel to one device pixel and nothing is resampled.
        w = width_px * 72 / dpi
        h = height_px * 72 / dpi
        ops = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (w, h)
        self._begin(content)
        self._write(b"<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(ops), ops))
        self._begin(page)
        self._write(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] /Contents %d 0 R "
            b"/Resources << /XObject << /Im0 %d 0 R >> >> >>\nendobj\n"
            % (w, h, content, image)
        )
        self.pages += 1

    def close(self) -> None:
        """Write the page tree, catalog, cross-reference table and trailer."""
        self._offsets[2] = self._pos
        self._write(b"2 0 obj\n<< /Type /Pages /Count %d /Kids [" % self.pages)
        batch: list[bytes] = []
        for i in range(self.pages):
            batch.append(b"%d 0 R " % (3 + 3 * i + 2))
            if len(batch) == 4096:
                self._write(b"".join(batch))
                batch.clear()
        self._write(b"".join(batch) + b"] >>\nendobj\n")
        self._offsets[1] = self._pos
        self._write(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
        xref = self._pos
        count = len(self._offsets)
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
        rows: list[bytes] = []
        for number in range(1, count):
            rows.append(b"%010d 00000 n \n" % self._offsets[number])
            if len(rows) == 4096:
                self._write(b"".join(rows))
                rows.clear()
        self._write(b"".join(rows))
        self._write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref))
