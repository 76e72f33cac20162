"""Linear and matrix symbols besides the QR, as plain boolean arrays (``True`` = dark).

* **GS1-128** (Code 128 with FNC1 in first position and GS1 application identifiers) for
  the SSCC of a case or pallet: :func:`gs1_128` takes the element string in HRI form,
  ``(00)069012340000000177``, and returns the modules of one row (bars dark), without
  the 10-module quiet zones.
* **DataMatrix** (ECC 200) for a unit's outer code, the visible serial:
  :func:`datamatrix` returns the square matrix, without its 1-module quiet zone.

Both come from zxing-cpp's writer (libzint underneath since zxing-cpp 3), which the QR
symbols already use: its GS1 mode checks the application identifiers and their check
digits, picks Code 128 code set C for the digits and puts FNC1 first, so no encoder
of our own has to be kept right.

>>> gs1_128("(00)069012340000000177").size   # start C, FNC1, 10 digit pairs, check, stop
156
>>> datamatrix("4EXGN9KY").shape
(14, 14)
"""

from __future__ import annotations

import numpy as np
import zxingcpp

from loyalcode.errors import InvalidInput

#: Quiet zone of Code 128 on each side, in modules (ISO/IEC 15417).
CODE128_QUIET = 10
#: Quiet zone of DataMatrix on each side, in modules (ISO/IEC 16022).
DATAMATRIX_QUIET = 1
#: GS1 General Specifications, SSCC in GS1-128 on logistic labels: X from 0.495 mm to
#: 1.016 mm, bar height at least 31.75 mm (5.2.3.7, symbol specification table 5).
GS1_128_X_MM = (0.495, 1.016)
GS1_128_MIN_HEIGHT_MM = 31.75


def gs1_128(element_strings: str) -> np.ndarray:
    """The modules of a GS1-128 symbol for ``element_strings`` in HRI form
    (``(00)...``), one row, dark = ``True``, no quiet zone."""
    try:
        barcode = zxingcpp.create_barcode(element_strings, zxingcpp.BarcodeFormat.Code128, gs1=True)
    except ValueError as exc:
        raise InvalidInput(detail=f"not GS1 element strings for a GS1-128 barcode ({exc})") from None
    image = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    return image[image.shape[0] // 2] < 128


def datamatrix(text: str) -> np.ndarray:
    """The ECC 200 DataMatrix of ``text`` (square), dark = ``True``, no quiet zone."""
    try:
        barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.DataMatrix)
    except ValueError as exc:
        raise InvalidInput(detail=f"cannot encode a DataMatrix ({exc})") from None
    return np.asarray(barcode.to_image(scale=1, add_quiet_zones=False)) < 128

