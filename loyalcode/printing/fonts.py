"""Fonts: the shipped monospace face for codes, and a located face for captions.

The hidden code and the visible serial are printed in DejaVu Sans Mono, shipped in
``loyalcode/printing/fonts`` (Bitstream Vera licence), so a code looks the same on
every machine. A caption may be in any script (``刮开涂层 扫码积分``): the first font
that has a glyph for every character is used, from an explicit ``--font`` path, then
``$LOYALCODE_CAPTION_FONT``, then the shipped face, then the CJK fonts Debian and other
systems install (``apt-get install fonts-wqy-zenhei`` or ``fonts-noto-cjk``), then
whatever ``fc-list`` knows for Chinese. If none covers the text the run is refused with
``font_not_found``: a label with tofu boxes is never printed.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

from loyalcode.printing.errors import FontNotFound

FONT_DIR = Path(__file__).with_name("fonts")
MONO_FONT = FONT_DIR / "DejaVuSansMono.ttf"
CAPTION_FONT_ENV = "LOYALCODE_CAPTION_FONT"

#: Well-known locations of CJK-capable fonts (Debian/Ubuntu, Fedora, Alpine, macOS).
CJK_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
)

_PROBE_SIZE = 48
_MISSING = "\U0010fffd"  # a private-use code point no text font maps: renders as .notdef


@functools.lru_cache(maxsize=64)
def _load(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=0)


def _glyph_key(font: ImageFont.FreeTypeFont, ch: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def covers(path: str | os.PathLike[str], text: str) -> bool:
    """Whether the font at ``path`` has a real glyph (not .notdef) for every character of ``text``."""
    try:
        font = _load(str(path), _PROBE_SIZE)
    except OSError:
        return False
    notdef = _glyph_key(font, _MISSING)
    for ch in set(text):
        if ch.isspace():
            continue
        key = _glyph_key(font, ch)
        if key == notdef or key[0][0] == 0:
            return False
    return True


def _fc_list_chinese() -> list[str]:
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())


def find_caption_font(text: str, explicit: str | os.PathLike[str] | None = None) -> Path:
    """A font file that renders every character of ``text``; :class:`FontNotFound` if none."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise FontNotFound(text=text, hint=f"the font file {path} does not exist.")
        if not covers(path, text):
            raise FontNotFound(text=text, hint=f"{path} lacks glyphs for some of its characters.")
        return path
    candidates: list[str] = []
    if os.environ.get(CAPTION_FONT_ENV):
        candidates.append(os.environ[CAPTION_FONT_ENV])
    candidates.append(str(MONO_FONT))
    candidates.extend(CJK_CANDIDATES)
    for candidate in candidates:
        if Path(candidate).is_file() and covers(candidate, text):
            return Path(candidate)
    for candidate in _fc_list_chinese():
        if covers(candidate, text):
            return Path(candidate)
    raise FontNotFound(
        text=text,
        hint=(
            "install a CJK font (Debian: apt-get install fonts-wqy-zenhei) or name one with "
            f"--font PATH or ${CAPTION_FONT_ENV}."
        ),
    )
