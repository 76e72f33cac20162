"""Scans as handhelds and line cameras deliver them, read once at the edge.

A warehouse scan is a case or pallet label (its GS1-128 barcode or its GS1 Digital Link
QR) or a unit's outer code (the visible serial 明码 as a DataMatrix), or the same typed
by hand. Scanners deliver them in several shapes, all read here and nowhere else:

* an ISO/IEC 15424 symbology identifier first or not (``]C1`` GS1-128, ``]C0`` Code
  128, ``]d1``/``]d2`` DataMatrix, ``]Q1``/``]Q3`` QR, ``]e0`` DataBar);
* FNC1 sent as the GS character (0x1D) before and between element strings;
* the element string bare (``00`` and 18 digits), in HRI form (``(00) ...``), with other
  AIs around it (``02 ... 37 24 00 ...``, parsed by biip), or the 18 digits alone;
* a GS1 Digital Link URI (``https://HOST/00/{sscc}``) from the QR;
* a visible serial or ``BATCH:SEQ``.

>>> read_scan("]C100069012340000000177")
Scan(kind='sscc', value='069012340000000177')
>>> read_scan("https://lc.example.com/00/069012340000000177")
Scan(kind='sscc', value='069012340000000177')
>>> read_scan("]d14exgn9ky")
Scan(kind='unit', value='4EXGN9KY')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from loyalcode.channels import sscc as gs1
from loyalcode.channels.errors import InvalidSscc, UnitNotFound

GS = "\x1d"
#: ISO/IEC 15424: ``]``, the symbology's letter, one modifier character.
_SYMBOLOGY = re.compile(r"\][A-Za-z][0-9A-Za-z]")
#: Identifiers of symbols that carry GS1 element strings.
GS1_SYMBOLOGIES = frozenset({"]C1", "]d2", "]Q3", "]e0", "]J1"})
_TRIM = " \t\r\n\ufeff"


@dataclass(frozen=True, slots=True)
class Scan:
    """One scan, read: ``kind`` ``sscc`` (``value`` the 18 digits, check digit valid)
    or ``unit`` (``value`` a visible serial, upper-cased, or ``BATCH:SEQ``)."""

    kind: str
    value: str


def _digital_link(url: str) -> str:
    """The SSCC of a GS1 Digital Link URI (``.../00/{sscc}``, any path before it)."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    for i in range(len(parts) - 1):
        if parts[i] == "00":
            return gs1.validate(parts[i + 1])
    # Not echoed: a consumer QR (the hidden code's URL) may have been scanned by mistake.
    raise UnitNotFound(unit="This scan", reason="a URL, but not a GS1 Digital Link of an SSCC (/00/...)")


def _element_strings(text: str) -> str:
    """The SSCC among GS1 element strings (GS-separated, or in HRI form)."""
    from biip import ParseError
    from biip.gs1_messages import GS1Message

    if text.startswith("(00)") or (text.startswith("00") and len(text) == gs1.LENGTH + 2):
        return gs1.validate(text)
    try:
        message = GS1Message.parse_hri(text) if text.startswith("(") else GS1Message.parse(text)
    except ParseError as exc:
        raise InvalidSscc(value=text, reason=f"not GS1 element strings ({exc})") from None
    found = message.element_strings.get(ai="00")
    if found is None:
        raise InvalidSscc(value=text, reason="GS1 element strings without an SSCC (AI 00)")
    return gs1.validate(found.value)


def read_scan(value: str) -> Scan:
    """What ``value`` names, as delivered by a scanner or typed: an SSCC (validated:
    :class:`~loyalcode.channels.errors.InvalidSscc` for a wrong check digit) or a unit
    (its text for :func:`~loyalcode.channels.aggregation.unit_serial`)."""
    text = value.strip(_TRIM)
    symbology = ""
    if _SYMBOLOGY.match(text):
        symbology, text = text[:3], text[3:]
    gs1_context = symbology in GS1_SYMBOLOGIES or text.startswith(GS)
    text = text.strip(GS + _TRIM)
    if text[:8].lower().startswith(("https://", "http://")):
        return Scan("sscc", _digital_link(text))
    if gs1_context or text.startswith("("):
        return Scan("sscc", _element_strings(text))
    if gs1.looks_like(text):
        return Scan("sscc", gs1.validate(text))
    return Scan("unit", text.upper() if ":" not in text else text)
