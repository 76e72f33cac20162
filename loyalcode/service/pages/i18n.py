"""Languages of the consumer pages: Simplified Chinese first, English when the browser's
``Accept-Language`` prefers it. Messages live in ``locales/<lang>.toml``, one file per
language with the same keys and ``{placeholders}``.

>>> negotiate("en-US,en;q=0.9")
'en'
>>> negotiate("zh-CN,zh;q=0.9,en;q=0.8")
'zh-CN'
>>> negotiate(None)
'zh-CN'
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

#: Offered languages, the default first.
LANGUAGES = ("zh-CN", "en")
DEFAULT = LANGUAGES[0]
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def negotiate(header: str | None) -> str:
    """The offered language the ``Accept-Language`` header likes best (ties and
    anything unparsable: Chinese)."""
    best, best_q = DEFAULT, 0.0
    for item in (header or "").split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-", 1)[0]
        lang = {"zh": "zh-CN", "en": "en"}.get(primary)
        if lang is not None and q > best_q:
            best, best_q = lang, q
    return best


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language (read once)."""
    text = resources.files(__package__).joinpath("locales", f"{lang}.toml").read_text("utf-8")
    return {k: str(v) for k, v in tomllib.loads(text).items()}


@dataclass(frozen=True, slots=True)
class Messages:
    """One language's messages and date formats, for a template (``t('key', ...)``)."""

    lang: str
    zone: dt.tzinfo

    def __call__(self, key: str, **facts: Any) -> str:
        return catalogue(self.lang)[key].format(**facts)

    def has(self, key: str) -> bool:
        """Whether the catalogue has a message for ``key`` (optional messages)."""
        return key in catalogue(self.lang)

    def date(self, day: dt.date) -> str:
        return self("date", year=day.year, month=day.month, day=day.day,
                    month_name=_MONTHS[day.month - 1])

    def instant(self, when: dt.datetime) -> str:
        """An instant as a date and time in the business zone."""
        local = when.astimezone(self.zone)
        return self("datetime", year=local.year, month=local.month, day=local.day,
                    month_name=_MONTHS[local.month - 1], hour=f"{local.hour:02d}",
                    minute=f"{local.minute:02d}")
