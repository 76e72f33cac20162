"""Chinese administrative division codes (GB/T 2260) as channel and scan regions.

2 digits name a province (``31`` Shanghai, ``44`` Guangdong), 4 a city (``4401``
Guangzhou), 6 a county. A 6-digit code with trailing zero pairs is shortened to its
level (``310000`` → ``31``, ``440100`` → ``4401``). A region contains every region it
is a prefix of.

Only codes on the published list are accepted: the list shipped with loyalcode
(``data/gb2260.csv``, the Ministry of Civil Affairs' list of the year its header
names), plus the codes a deployment adds for divisions created since
(``[regions] extra`` in ``loyalcode.toml``). Anything else is ``invalid_region``.

>>> normalize_region("310000"), normalize_region("440100"), normalize_region("440106")
('31', '4401', '440106')
>>> contains("44", "4401"), contains("4401", "31")
(True, False)
>>> normalize_region("990000")
Traceback (most recent call last):
...
loyalcode.channels.errors.InvalidRegion: Invalid region '990000': not a GB/T 2260 code on the 2024 list (add newer codes to [regions] extra in loyalcode.toml).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from loyalcode.channels.errors import InvalidRegion, UnlistedRegion
from loyalcode.errors import ConfigError
from loyalcode.store.config import Config

_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class RegionList:
    """The GB/T 2260 codes accepted (6 digits each) and the list's year."""

    codes: frozenset[str]
    year: str

    @classmethod
    def from_config(cls, config: Config) -> RegionList:
        """The shipped list plus ``[regions] extra`` (codes of 2, 4 or 6 digits)."""
        section: dict[str, Any] = config.section("regions")
        unknown = set(section) - {"extra"}
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [regions]: {', '.join(sorted(unknown))}")
        extra = section.get("extra", [])
        if not isinstance(extra, list) or not all(isinstance(c, str) for c in extra):
            raise ConfigError(detail="regions.extra must be a list of GB/T 2260 codes (strings)")
        shipped = shipped_regions()
        if not extra:
            return shipped
        codes = set(shipped.codes)
        for code in extra:
            text = code.strip()
            if len(text) not in (2, 4, 6) or not set(text) <= _DIGITS or text[:2] == "00":
                raise ConfigError(detail=f"regions.extra: {code!r} is not 2, 4 or 6 digits")
            codes.add(text.ljust(6, "0"))
        return cls(frozenset(codes), shipped.year)


@cache
def shipped_regions() -> RegionList:
    """The list shipped as package data (read once)."""
    raw = resources.files("loyalcode.channels").joinpath("data/gb2260.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(
        line for line in raw.splitlines() if not line.startswith("#")
    )))
    return RegionList(frozenset(row["code"] for row in rows), _year(raw))


def _year(raw: str) -> str:
    """The year of the list, from the header line ``... as of the YYYY list ...``."""
    for word in raw.split():
        if len(word) == 4 and word.isdecimal() and word.startswith("20"):
            return word
    return "shipped"


def normalize_region(value: str, regions: RegionList | None = None) -> str:
    """The canonical form of a region code on the list (the shipped one unless
    ``regions`` is given), or :class:`InvalidRegion`."""
    text = value.strip() if isinstance(value, str) else ""
    if len(text) not in (2, 4, 6) or not set(text) <= _DIGITS or text[:2] == "00":
        raise InvalidRegion(value=value)
    listed = regions if regions is not None else shipped_regions()
    if text.ljust(6, "0") not in listed.codes:
        raise UnlistedRegion(value=value, year=listed.year)
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return text


def contains(outer: str, inner: str) -> bool:
    """True when region ``inner`` lies within region ``outer`` (both canonical)."""
    return inner.startswith(outer)
