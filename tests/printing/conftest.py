"""Printing fixtures: a CJK-capable system font for the Chinese-caption tests."""

from __future__ import annotations

import pytest

from tests.conftest import IN_CI


@pytest.fixture
def cjk_font() -> str:
    """A font that has every glyph of the sample caption.

    Captions in Chinese need a system font (``apt-get install fonts-wqy-zenhei``,
    which ``.ci/system-packages`` does). Without one these tests skip with that
    reason on a developer's machine, and fail under ``CI=true``.
    """
    from loyalcode.printing.errors import FontNotFound
    from loyalcode.printing.fonts import find_caption_font

    try:
        return str(find_caption_font("刮开涂层 扫码积分"))
    except FontNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but {exc.message}")
        pytest.skip(f"no CJK font on this machine ({exc.code}): apt-get install fonts-wqy-zenhei")
