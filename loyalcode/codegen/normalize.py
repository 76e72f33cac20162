"""Normalise a scan once, at the edge, into a canonical 16-symbol code.

A scan arrives as a whole QR payload (a URL: the code is its ``c`` query parameter
if there is one, else its last path segment) or as typed text. Typed text is
case-folded, full-width forms are folded (NFKC), spaces and hyphens (of any width)
are dropped, and the look-alikes ``O``→``0``, ``I``/``L``→``1`` are mapped, as in
Crockford base32. Everything else is malformed. Nothing here logs or keeps the input.

>>> normalize_scan("7kx4-9qpm-2hdf-8w3t")
'7KX49QPM2HDF8W3T'
>>> normalize_scan("HTTPS://LC.EXAMPLE.COM/C/7KX49QPM2HDF8W3T")
'7KX49QPM2HDF8W3T'
>>> normalize_scan("https://x.example/01/0950/21/AB?c=7kx4 9qpm 2hdf 8w3t")
'7KX49QPM2HDF8W3T'
>>> normalize_scan("７ＫＸ４－９ＱＰＭ－２ＨＤＦ－８Ｗ３Ｔ")
'7KX49QPM2HDF8W3T'
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qs, unquote, unquote_plus, urlsplit

from loyalcode.codegen.codeformat import ALPHABET, CODE_LENGTH
from loyalcode.codegen.errors import MalformedCode

#: Longer input is junk, not a scan (a GS1 Digital Link URL is well under this).
MAX_SCAN_LENGTH = 2048

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d\ufe63"
_DROP = _DASHES + " \t\r\n\u00a0\u3000_"
_TABLE = str.maketrans({"O": "0", "I": "1", "L": "1", **{c: None for c in _DROP}})
_CANONICAL = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def _from_url(scan: str) -> str:
    """The code part of a URL: the last ``c`` query value, else the last path segment.

    Split by hand the way :func:`urllib.parse.urlsplit` and :func:`parse_qs` do for
    these parts (``urlsplit`` alone cost 10 µs a scan, two thirds of checking a
    scanned URL); ``tests/codegen/test_normalize.py`` compares the two.
    """
    rest = scan.split("://", 1)[1]
    if "[" in rest or "]" in rest:  # IPv6 hosts and junk: the library judges those
        return _from_url_reference(scan)
    if "\t" in rest or "\r" in rest or "\n" in rest:  # urlsplit drops these
        rest = rest.replace("\t", "").replace("\r", "").replace("\n", "")
    rest = rest.split("#", 1)[0]
    head, _, query = rest.partition("?")
    if query:
        found = None
        for field in query.split("&"):
            name, _, value = field.partition("=")
            if name == "c" or (("%" in name or "+" in name) and unquote_plus(name) == "c"):
                found = value
        if found is not None:
            return unquote_plus(found)
    path = head.partition("/")[2]  # the network location ends at the first "/"
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise MalformedCode(reason="the link holds no code")
    return unquote(segments[-1])


def _from_url_reference(scan: str) -> str:
    """The same with the standard library (kept for the tests)."""
    try:
        parts = urlsplit(scan)
    except ValueError:  # e.g. "http://[" (a bad IPv6 host): junk, not a crash
        raise MalformedCode(reason="the link is not a valid URL") from None
    if parts.query:
        values = parse_qs(parts.query, keep_blank_values=True).get("c")
        if values:
            return values[-1]
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise MalformedCode(reason="the link holds no code")
    return unquote(segments[-1])


def normalize_scan(scan: str) -> str:
    """The canonical code in ``scan``, or :class:`MalformedCode`.

    The check symbol is not verified here (see :mod:`loyalcode.codegen.checkchar`).
    """
    if not isinstance(scan, str):
        raise MalformedCode(reason="the scan is not text")
    # Fast path: already canonical, grouped or not (what QA tools and exports feed).
    if len(scan) <= 19:
        compact = scan.replace("-", "")
        if _CANONICAL.fullmatch(compact) is not None:
            return compact
    if len(scan) > MAX_SCAN_LENGTH:
        raise MalformedCode(reason="the scan is too long")
    text = scan.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if _URL.match(text):
        text = _from_url(text)
    text = text.upper().translate(_TABLE)
    if _CANONICAL.fullmatch(text) is None:
        if len(text) != CODE_LENGTH:
            raise MalformedCode(reason=f"a code has {CODE_LENGTH} symbols")
        raise MalformedCode(reason="a character outside the code alphabet")
    return text


def try_normalize(scan: str) -> str | None:
    """Like :func:`normalize_scan` but ``None`` for malformed input (bulk checking)."""
    try:
        return normalize_scan(scan)
    except MalformedCode:
        return None
