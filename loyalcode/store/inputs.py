"""The edge check of every text argument a caller passes in, and the short, safe
preview of it that an error message may echo.

Text from the outside (a JSON body, a form, a command line) can hold what no field of
ours means: a NUL (PostgreSQL refuses it in text), a lone surrogate (what
``json.loads('"\\ud800"')`` gives; no encoder takes it), other control characters, or
megabytes. :func:`check_text` refuses them all with the one typed error
``invalid_input`` naming the field, before anything else looks at the value.

>>> check_text("source", "203.0.113.7", max_length=128)
'203.0.113.7'
>>> check_text("source", "ab\\x00", max_length=128)
Traceback (most recent call last):
...
loyalcode.errors.InvalidText: Invalid source: control characters are not allowed.
>>> preview("\\ud800evil\\n" + "x" * 100)
'?evil?xxxxxxxxxx…'
"""

from __future__ import annotations

import re

from loyalcode.errors import InvalidText

#: NUL and every other C0/C1 control character, DEL, and the surrogate code points.
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

#: How many characters of a rejected or unknown value a message may repeat.
PREVIEW_LENGTH = 16


def check_text(field: str, value: object, *, max_length: int) -> str:
    """``value`` unchanged when it is text of at most ``max_length`` characters with no
    control character and no surrogate; else :class:`~loyalcode.errors.InvalidText`
    (code ``invalid_input``, ``field`` named). Never echoes the value."""
    if not isinstance(value, str):
        raise InvalidText(field=field, reason="it must be text")
    if len(value) > max_length:
        raise InvalidText(field=field, reason=f"at most {max_length} characters")
    if _UNSAFE.search(value) is not None:
        if _SURROGATE.search(value) is not None:
            raise InvalidText(field=field, reason="it is not valid Unicode text")
        raise InvalidText(field=field, reason="control characters are not allowed")
    return value


def check_optional(field: str, value: object, *, max_length: int) -> str | None:
    """:func:`check_text`, with ``None`` passed through."""
    return None if value is None else check_text(field, value, max_length=max_length)


def preview(value: object, length: int = PREVIEW_LENGTH) -> str:
    """A printable prefix of ``value`` for a message: at most ``length`` characters,
    each control character, surrogate or other unprintable one as ``?``, ``…`` when it
    was cut."""
    text = value if isinstance(value, str) else str(value)
    head = "".join(c if c.isprintable() else "?" for c in text[:length])
    return head + ("…" if len(text) > length else "")
