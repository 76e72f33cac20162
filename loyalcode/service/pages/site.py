"""Branding of the consumer pages from the ``[site]`` table of ``loyalcode.toml``.

>>> SiteSettings().primary_color
'#0b6e4f'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from loyalcode.errors import ConfigError
from loyalcode.store.config import Config

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_PHONE = re.compile(r"[0-9+() -]{3,32}")
#: Logo files the pages serve, by suffix.
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg", ".webp": "image/webp"}
MAX_LOGO_BYTES = 40_000  # a page, logo included, stays under 50 KB


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """What the pages say of the brand."""

    #: Shown in the header and the title of every page.
    brand_name: str = "loyalcode"
    #: A PNG, SVG, JPEG or WebP file (relative to loyalcode.toml), at most 40 KB; none: text only.
    logo: str | None = None
    #: The brand's colour (``#rgb`` or ``#rrggbb``): header, buttons, links.
    primary_color: str = "#0b6e4f"
    #: The consumer hotline shown on every page (digits, spaces, + - ( )).
    support_phone: str | None = None
    #: The privacy notice shown before a phone is asked for (what is kept, why, how to
    #: erase it), paragraphs separated by blank lines; none: the pages' default text.
    privacy_notice: str | None = None
    #: Recorded with each consent: change it whenever the notice changes.
    privacy_version: str = "1"

    def __post_init__(self) -> None:
        if self.privacy_notice is not None and (
                not isinstance(self.privacy_notice, str) or not 1 <= len(self.privacy_notice) <= 5000):
            raise ConfigError(detail="site.privacy_notice must be 1 to 5000 characters")
        if not isinstance(self.privacy_version, str) or not 1 <= len(self.privacy_version) <= 40:
            raise ConfigError(detail="site.privacy_version must be 1 to 40 characters")
        if not isinstance(self.brand_name, str) or not 1 <= len(self.brand_name.strip()) <= 60:
            raise ConfigError(detail="site.brand_name must be 1 to 60 characters")
        if not isinstance(self.primary_color, str) or not _COLOR.fullmatch(self.primary_color):
            raise ConfigError(detail="site.primary_color must be a colour like #0b6e4f")
        if self.support_phone is not None and (
                not isinstance(self.support_phone, str) or not _PHONE.fullmatch(self.support_phone)):
            raise ConfigError(detail="site.support_phone must be a phone number")
        if self.logo is not None and (not isinstance(self.logo, str)
                                      or Path(self.logo).suffix.lower() not in LOGO_TYPES):
            raise ConfigError(detail="site.logo must name a .png, .svg, .jpg or .webp file")

    @classmethod
    def from_config(cls, config: Config) -> SiteSettings:
        """The settings in ``[site]``; defaults for what is missing. A relative logo
        path is read beside the configuration file."""
        section: dict[str, Any] = dict(config.section("site"))
        unknown = set(section) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(detail=f"unknown key(s) in [site]: {', '.join(sorted(unknown))}")
        if isinstance(section.get("logo"), str):
            section["logo"] = str(config.path.parent / section["logo"])
        return cls(**section)

    def logo_file(self) -> tuple[bytes, str] | None:
        """The logo's bytes and media type (read once, at start-up)."""
        if self.logo is None:
            return None
        path = Path(self.logo)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ConfigError(detail=f"site.logo: cannot read {path}: {err.strerror}") from None
        if len(data) > MAX_LOGO_BYTES:
            raise ConfigError(detail=f"site.logo: {path} is over {MAX_LOGO_BYTES} bytes")
        return data, LOGO_TYPES[path.suffix.lower()]
