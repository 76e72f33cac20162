"""SSCC-18, the GS1 Serial Shipping Container Code printed on cases and pallets.

Eighteen digits: an extension digit (0-9, the brand's to use), the GS1 company prefix
(4 to 12 digits), a serial reference filling the rest, and a GS1 mod-10 check digit.
A handheld reads it from a GS1-128 label as application identifier ``(00)`` followed by
the 18 digits. Not secret: it is printed outside the carton.

The verbs follow python-stdnum's: :func:`compact`, :func:`calc_check_digit`,
:func:`validate`, :func:`is_valid`, :func:`format`.

>>> calc_check_digit("10614141123456789")
'7'
>>> validate("(00) 1 0614141 123456789 7")
'106141411234567897'
>>> format("106141411234567897")
'(00) 106141411234567897'
>>> build(extension=1, company_prefix="0614141", reference=123456789)
'106141411234567897'
"""

from __future__ import annotations

from loyalcode.channels.errors import InvalidSscc

LENGTH = 18
MIN_PREFIX, MAX_PREFIX = 4, 12
_SYMBOLOGY = ("]C1", "]d2", "]Q3", "]e0")  # GS1-128, GS1 DataMatrix, GS1 QR, DataBar
_FILLERS = str.maketrans("", "", " -()\t")


def compact(value: str) -> str:
    """The digits of an SSCC as scanned or typed: a symbology identifier (``]C1``),
    the ``(00)`` application identifier (or a leading ``00`` on 20 digits), spaces,
    hyphens and parentheses dropped. Does not validate."""
    text = value.strip()
    for prefix in _SYMBOLOGY:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    text = text.removeprefix("(00)")
    text = text.translate(_FILLERS)
    if len(text) == LENGTH + 2 and text.startswith("00"):
        text = text[2:]
    return text


def looks_like(value: str) -> bool:
    """Whether ``value`` is meant as an SSCC (18 digits, or the 20 of AI 00, or the
    parenthesised form): the test that tells an SSCC from a visible serial or a
    ``BATCH:SEQ``, before any check digit is judged."""
    text = compact(value)
    return len(text) in (LENGTH, LENGTH + 2) and text.isascii() and text.isdecimal()


def calc_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of the 17 digits before it: weights 3 and 1
    alternating from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def validate(value: str) -> str:
    """The 18 digits of a valid SSCC, or :class:`~loyalcode.channels.errors.InvalidSscc`
    saying why (not 18 digits, a wrong check digit)."""
    text = compact(value)
    if not text.isascii() or not text.isdecimal():
        raise InvalidSscc(value=value, reason="an SSCC has digits only")
    if len(text) != LENGTH:
        raise InvalidSscc(value=value, reason=f"an SSCC has {LENGTH} digits, this has {len(text)}")
    if calc_check_digit(text[:-1]) != text[-1]:
        raise InvalidSscc(value=value, reason="the check digit is wrong")
    return text


def is_valid(value: str) -> bool:
    """Whether ``value`` is a valid SSCC."""
    try:
        validate(value)
    except InvalidSscc:
        return False
    return True


def format(value: str) -> str:
    """The SSCC as printed under a GS1-128 label: ``(00)`` then the 18 digits."""
    return f"(00) {compact(value)}"


def reference_digits(company_prefix: str) -> int:
    """How many digits the serial reference has under ``company_prefix``."""
    return LENGTH - 2 - len(company_prefix)


def check_prefix(company_prefix: str, extension: int) -> None:
    """:class:`InvalidSscc` unless ``company_prefix`` is 4 to 12 digits and
    ``extension`` one digit."""
    if not (company_prefix.isascii() and company_prefix.isdecimal()
            and MIN_PREFIX <= len(company_prefix) <= MAX_PREFIX):
        raise InvalidSscc(value=company_prefix,
                          reason=f"a GS1 company prefix has {MIN_PREFIX} to {MAX_PREFIX} digits")
    if not 0 <= extension <= 9:
        raise InvalidSscc(value=str(extension), reason="the extension digit is one digit, 0 to 9")


def build(*, extension: int, company_prefix: str, reference: int) -> str:
    """The SSCC of serial ``reference`` under ``company_prefix`` and ``extension``."""
    check_prefix(company_prefix, extension)
    width = reference_digits(company_prefix)
    if not 0 <= reference < 10**width:
        raise InvalidSscc(value=str(reference),
                          reason=f"the serial reference has at most {width} digits here")
    body = f"{extension}{company_prefix}{reference:0{width}d}"
    return body + calc_check_digit(body)
