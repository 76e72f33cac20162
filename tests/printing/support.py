"""Helpers for the printing tests: synthetic labels, reading outputs back, decoding."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
URL = "HTTPS://LC.EXAMPLE.COM/C/"


@dataclass(frozen=True)
class Chunk:
    """Shaped like loyalcode.codegen.labels.LabelChunk."""

    seq_start: int
    codes: list[str]
    payloads: list[str]
    serials: list[str] | None


def synthetic_chunks(count: int, *, seed: int = 7, chunk: int = 50, prefix: str = URL,
                     serials: bool = True) -> list[Chunk]:
    """``count`` distinct random codes in chunks; payload = prefix + code; serial = S + seq."""
    rng = random.Random(seed)
    seen: set[str] = set()
    codes: list[str] = []
    while len(codes) < count:
        code = "".join(rng.choice(ALPHABET) for _ in range(16))
        if code not in seen:
            seen.add(code)
            codes.append(code)
    out = []
    for start in range(0, count, chunk):
        part = codes[start: start + chunk]
        out.append(Chunk(
            seq_start=start + 1,
            codes=part,
            payloads=[prefix + c for c in part],
            serials=[f"S{start + i + 1:06d}" for i in range(len(part))] if serials else None,
        ))
    return out


def png_pages(directory: Path) -> list[np.ndarray]:
    """The PNG pages of a directory as 8-bit greyscale arrays, in page order."""
    files = sorted(directory.glob("page-*.png"))
    return [np.asarray(Image.open(f).convert("L")) for f in files]


def pdf_pages(path: Path, dpi: int) -> list[np.ndarray]:
    """A PDF rasterised with pypdfium2 (PDFium, a real PDF renderer) at ``dpi``."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True, no_smoothimage=True).to_numpy().copy() for i in range(len(doc))]
    finally:
        doc.close()


def pdf_embedded_images(path: Path) -> list[np.ndarray]:
    """Each page's image as stored in the PDF (decoded by PDFium, not resampled)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        out = []
        for i in range(len(doc)):
            (image,) = list(doc[i].get_objects())
            out.append(image.get_bitmap(render=False).to_numpy().copy())
        return out
    finally:
        doc.close()


@dataclass(frozen=True)
class Found:
    text: str
    center: tuple[float, float]  # pixels


def decode(image: np.ndarray) -> list[Found]:
    """Every QR zxing-cpp finds on a page."""
    out = []
    for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        p = r.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
        out.append(Found(r.text, (sum(xs) / 4, sum(ys) / 4)))
    return out


def dark_bbox(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1 exclusive) of the dark pixels inside a window."""
    window = image[max(0, y0): y1, max(0, x0): x1] < 128
    ys, xs = np.nonzero(window)
    if len(xs) == 0:
        return None
    return (max(0, x0) + int(xs.min()), max(0, y0) + int(ys.min()),
            max(0, x0) + int(xs.max()) + 1, max(0, y0) + int(ys.max()) + 1)
