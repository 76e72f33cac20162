"""QR symbols as plain boolean matrices (``True`` = dark module, no quiet zone).

Encoding is done by zxing-cpp's C++ writer. Two choices make it fast:

* The **version** (symbol size) is chosen once per run, for the longest payload, so
  every label of a run has the same geometry.
* The **mask** is chosen once per run too. Choosing the mask per symbol (evaluating all
  eight masks by the ISO 18004 penalty) is what makes encoders slow: zxing-cpp encodes
  about 7,000 symbols/s with automatic masking and about 33,000/s with a fixed mask here.
  Any mask decodes; the penalty only guards against unlucky patterns (finder-like
  runs, big blocks). So every symbol is encoded with the run's mask, its penalty is
  computed in bulk with numpy, and the rare symbol that scores clearly worse than the
  automatic choice would is re-encoded with automatic masking.
"""

from __future__ import annotations

import numpy as np
import zxingcpp

from loyalcode.printing.errors import InvalidEcLevel, PayloadTooLong

EC_LEVELS = ("L", "M", "Q", "H")
QUIET_ZONE = 4  # modules, ISO/IEC 18004
_QR = zxingcpp.BarcodeFormat.QRCode

#: A symbol whose penalty exceeds this many points over the run's reference is re-encoded
#: with automatic mask selection (a few per cent of symbols on random codes).
PENALTY_SLACK = 100


def check_ec(ec: str) -> str:
    """Upper-cased EC level, or :class:`InvalidEcLevel`."""
    level = str(ec).upper()
    if level not in EC_LEVELS:
        raise InvalidEcLevel(value=ec)
    return level


def _create(payload: str, ec: str, version: int | None = None, mask: int | None = None):  # type: ignore[no-untyped-def]
    kwargs: dict[str, object] = {"ec_level": ec}
    if version is not None:
        kwargs["version"] = version
    if mask is not None:
        kwargs["data_mask"] = mask
    return zxingcpp.create_barcode(payload, _QR, **kwargs)


def _matrix(barcode) -> np.ndarray:  # type: ignore[no-untyped-def]
    image = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    return image < 128


def encode(payload: str, *, ec: str = "M", version: int | None = None,
           mask: int | None = None) -> np.ndarray:
    """One QR symbol as a boolean matrix (dark = ``True``), without quiet zone.

    >>> m = encode("HTTPS://LC.EXAMPLE.COM/C/7KX49QPM2HDF8W3T")
    >>> m.shape, m.dtype.name, bool(m[0, 0])
    ((29, 29), 'bool', True)
    """
    ec = check_ec(ec)
    try:
        return _matrix(_create(payload, ec, version, mask))
    except ValueError as exc:
        raise PayloadTooLong(length=len(payload), reason=str(exc)) from None


def version_of(matrix: np.ndarray) -> int:
    """The QR version of a symbol matrix (21 modules = version 1, +4 per version)."""
    return (matrix.shape[0] - 17) // 4


def choose_version(payloads: list[str], ec: str = "M") -> int:
    """The smallest version that holds every payload of ``payloads`` at level ``ec``."""
    if not payloads:
        raise PayloadTooLong(length=0, reason="no payloads to encode")
    ec = check_ec(ec)
    # Longest by UTF-8 length, then one representative per length class is enough in
    # practice; encode a few to be safe about mode changes (byte vs alphanumeric).
    ranked = sorted(set(payloads), key=lambda p: (len(p.encode("utf-8")), p), reverse=True)[:8]
    return max(version_of(encode(p, ec=ec)) for p in ranked)


# --- one-segment symbols (what a ZPL printer is told to encode) ---------------------

#: The 45 characters of QR alphanumeric mode (ISO/IEC 18004, 7.4.4).
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_ALNUM_BYTES = ALPHANUMERIC.encode("ascii")
_DIGIT_BYTES = b"0123456789"
_EC_INDEX = {"L": 1, "M": 0, "Q": 3, "H": 2}  # qrcode's constants for the four levels
#: Character modes, narrowest first, as ZPL's manual input names them.
MODES = ("N", "A", "B")


def segment_mode(payload: str) -> str:
    """The narrowest QR mode that holds all of ``payload`` in one segment: ``N``
    (digits), ``A`` (alphanumeric: digits, upper case, `` $%*+-./:``) or ``B`` (bytes
    of its UTF-8).

    >>> segment_mode("0123"), segment_mode("HTTPS://LC.EXAMPLE.COM/C/7KX4"), segment_mode("https://x")
    ('N', 'A', 'B')
    """
    if not payload.isascii():
        return "B"
    raw = payload.encode("ascii")
    if not raw.translate(None, _DIGIT_BYTES):
        return "N"
    if not raw.translate(None, _ALNUM_BYTES):
        return "A"
    return "B"


def segment_bits(mode: str, length: int, version: int) -> int:
    """Bits of one segment of ``length`` characters (bytes in ``B``) at ``version``:
    mode indicator, character count, data (ISO/IEC 18004, 7.4)."""
    from qrcode import util

    if mode == "N":
        kind, data = util.MODE_NUMBER, 10 * (length // 3) + (0, 4, 7)[length % 3]
    elif mode == "A":
        kind, data = util.MODE_ALPHA_NUM, 11 * (length // 2) + 6 * (length % 2)
    else:
        kind, data = util.MODE_8BIT_BYTE, 8 * length
    return 4 + util.length_in_bits(kind, version) + data


def segment_capacity(mode: str, version: int, ec: str) -> int:
    """The most characters (bytes in ``B``) one segment in ``mode`` holds at ``version``-``ec``."""
    from qrcode import util

    limit = util.BIT_LIMIT_TABLE[_EC_INDEX[check_ec(ec)]][version]
    low, high = 0, 7089
    while low < high:  # the largest length whose bits fit
        mid = (low + high + 1) // 2
        if segment_bits(mode, mid, version) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def segment_length(payload: str, mode: str) -> int:
    """Characters of ``payload`` as counted in ``mode`` (UTF-8 bytes in ``B``)."""
    return len(payload.encode("utf-8")) if mode == "B" else len(payload)


def segment_version(payloads: list[str], ec: str = "M", mode: str | None = None) -> int:
    """The smallest version whose one-segment symbol (in ``mode``, default the
    narrowest that holds each payload) holds every payload at level ``ec``: the
    version a printer told the mode picks, as it picks the smallest that fits."""
    ec = check_ec(ec)
    if not payloads:
        raise PayloadTooLong(length=0, reason="no payloads to encode")
    need = 1
    for payload in payloads:
        kind = mode or segment_mode(payload)
        length = segment_length(payload, kind)
        while need <= 40 and segment_capacity(kind, need, ec) < length:
            need += 1
        if need > 40:
            raise PayloadTooLong(length=len(payload), reason=f"more than a version 40-{ec} QR holds")
    return need


def penalty(symbols: np.ndarray) -> np.ndarray:
    """ISO/IEC 18004 mask penalty (N1 + N2 + N3 + N4) of each symbol in a stack (B, n, n)."""
    s = np.ascontiguousarray(symbols, dtype=bool)
    b, n, _ = s.shape
    total = np.zeros(b, dtype=np.int64)
    # N1: runs of 5+ same-colour modules in a row/column: 3 + (length - 5) each.
    for grid in (s, s.transpose(0, 2, 1)):
        flat = np.ascontiguousarray(grid).reshape(-1)
        starts = np.ones(flat.size, dtype=bool)
        starts[1:] = flat[1:] != flat[:-1]
        starts[::n] = True
        idx = np.flatnonzero(starts)
        lengths = np.diff(np.append(idx, flat.size))
        long = lengths >= 5
        total += np.bincount(idx[long] // (n * n), weights=lengths[long] - 2, minlength=b).astype(np.int64)
    # N2: 2x2 blocks of one colour: 3 each.
    block = (s[:, :-1, :-1] == s[:, 1:, :-1]) & (s[:, :-1, :-1] == s[:, :-1, 1:]) & (s[:, :-1, :-1] == s[:, 1:, 1:])
    total += 3 * block.sum(axis=(1, 2))
    # N3: 1:1:3:1:1 finder-like pattern with 4 light modules on one side: 40 each.
    pad = np.zeros((b, n + 8, n + 8), dtype=bool)
    pad[:, 4:-4, 4:-4] = s
    core = np.array([1, 0, 1, 1, 1, 0, 1], dtype=bool)
    for grid in (pad, pad.transpose(0, 2, 1)):
        windows = grid.shape[2] - 10

        def col(k: int, g: np.ndarray = grid, w: int = windows) -> np.ndarray:
            return g[:, :, k: k + w]

        light_left = ~col(0) & ~col(1) & ~col(2) & ~col(3)
        light_right = ~col(7) & ~col(8) & ~col(9) & ~col(10)
        finder_right = light_left.copy()  # 0000 1011101
        finder_left = light_right.copy()  # 1011101 0000
        for k in range(7):
            finder_right &= col(4 + k) == core[k]
            finder_left &= col(k) == core[k]
        total += 40 * (finder_right.sum(axis=(1, 2)) + finder_left.sum(axis=(1, 2)))
    # N4: dark proportion away from 50 %: 10 per 5 % step.
    dark = s.sum(axis=(1, 2)) * 100 // (n * n)
    total += 10 * (np.abs(dark - 50) // 5)
    return total


class QrEncoder:
    """Encodes the payloads of one run at a fixed version and (normally) a fixed mask."""

    def __init__(self, version: int, ec: str = "M", *, sample: list[str] | None = None) -> None:
        self.version = version
        self.ec = check_ec(ec)
        self.size = 17 + 4 * version
        self.mask, self.reference = self._pick_mask(sample or [])
        self.fallbacks = 0

    def _pick_mask(self, sample: list[str]) -> tuple[int | None, int]:
        if not sample:
            return None, 0
        sample = sample[:32]
        best_mask, best_score = 0, None
        for mask in range(8):
            stack = np.stack([self._encode_one(p, mask) for p in sample])
            score = int(penalty(stack).mean())
            if best_score is None or score < best_score:
                best_mask, best_score = mask, score
        auto = np.stack([self._encode_one(p, None) for p in sample])
        return best_mask, int(np.percentile(penalty(auto), 90))

    def _encode_one(self, payload: str, mask: int | None) -> np.ndarray:
        try:
            return _matrix(_create(payload, self.ec, self.version, mask))
        except ValueError as exc:
            raise PayloadTooLong(
                length=len(payload), reason=f"the run's QR version {self.version}-{self.ec} is too small ({exc})"
            ) from None

    def encode_many(self, payloads: list[str]) -> np.ndarray:
        """A stack (B, n, n) of boolean symbols for ``payloads``."""
        out = np.empty((len(payloads), self.size, self.size), dtype=bool)
        for i, payload in enumerate(payloads):
            out[i] = self._encode_one(payload, self.mask)
        if self.mask is not None and len(payloads):
            worse = np.flatnonzero(penalty(out) > self.reference + PENALTY_SLACK)
            for i in worse.tolist():
                out[i] = self._encode_one(payloads[i], None)
            self.fallbacks += len(worse)
        return out
