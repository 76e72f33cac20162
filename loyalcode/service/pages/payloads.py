"""The payload templates of the deployment's batches, as the landing page's routes.

A label's QR code is its batch's payload template filled in (``HTTPS://LC.EXAMPLE.COM/C/
{code}``, a brand's own URL, a GS1 Digital Link ``.../01/{gtin}/21/{serial}?c={code}``).
The scheme and host belong to the reverse proxy and are ignored; the path is matched in
the template's case or in lower case (a phone may lower-case a URL), with or without a
trailing slash; each query parameter of the template must be present (its name in
either case; others, such as a messenger's tracking parameters, are ignored). The code
comes from its field, wherever the template put it (10 to 200 characters). ``{gtin}``
matches 14 digits, ``{batch}`` digits, ``{serial}`` one path segment or value: the code
alone decides the verdict.

>>> forms = PayloadForms.build(["HTTPS://LC.EXAMPLE.COM/C/{code}",
...                             "https://b.example/01/{gtin}/21/{serial}?c={code}"])
>>> forms.match("/c/7kx49qpm2hdf8w3t/", b"")
('/C/{code}', '7kx49qpm2hdf8w3t')
>>> forms.match("/01/09501101020917/21/AB12", b"c=7KX49QPM2HDF8W3T&from=timeline")
('/01/{gtin}/21/{serial}?c={code}', '7KX49QPM2HDF8W3T')
>>> forms.match("/C/", b"") is None
True
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#{}]*")
#: A code's field takes 10 to 200 characters (16 symbols, maybe hyphenated or
#: percent-encoded): ``/C/`` or ``/favicon.ico`` under a ``/{code}`` template is no label.
_FIELD = {"code": r"[^/?#&]{10,200}", "serial": r"[^/?#&]+", "gtin": r"[0-9]{14}", "batch": r"[0-9]+"}


@dataclass(frozen=True, slots=True)
class PayloadForm:
    """One template's path and query, compiled: ``route`` is what the access log names."""

    route: str
    paths: tuple[re.Pattern[str], ...]
    #: (name, lower-case name, value pattern or None when the code is not in it)
    query: tuple[tuple[str, str, re.Pattern[str]], ...]
    code_param: str | None  # the query parameter holding the code, else the path does

    def match(self, path: str, params: dict[str, str]) -> str | None:
        """The code, when this request is of this form."""
        for pattern in self.paths:
            found = pattern.fullmatch(path)
            if found is not None:
                break
        else:
            return None
        code = found.groupdict().get("code")
        for name, lower, value in self.query:
            given = params.get(name, params.get(lower))
            if given is None:
                return None
            matched = value.fullmatch(given)
            if matched is None:
                return None
            if name == self.code_param:
                code = matched.group("code")
        return code


@dataclass(frozen=True, slots=True)
class PayloadForms:
    """Every routable form, from the templates in use."""

    forms: tuple[PayloadForm, ...]

    @classmethod
    def build(cls, templates: Iterable[str]) -> PayloadForms:
        seen: dict[str, PayloadForm] = {}
        for template in templates:
            form = compile_form(template)
            if form is not None:
                seen.setdefault(form.route, form)
        # the most specific first: literal characters outweigh fields
        ordered = sorted(seen.values(), key=lambda f: -len(re.sub(r"\{\w+\}", "", f.route)))
        return cls(tuple(ordered))

    def match(self, path: str, query_string: bytes) -> tuple[str, str] | None:
        """``(route, code)`` of the first form the request matches, else ``None``."""
        params: dict[str, str] | None = None
        for form in self.forms:
            if form.query and params is None:
                params = {}
                for name, value in parse_qsl(query_string.decode("latin-1"),
                                             keep_blank_values=True):
                    params.setdefault(name, value)
            code = form.match(path, params or {})
            if code:
                return form.route, code
        return None


def compile_form(template: str) -> PayloadForm | None:
    """The form of one template; ``None`` when no URL of ours can carry it (no
    ``scheme://host``, or the code outside the path and query)."""
    origin = _ORIGIN.match(template)
    if origin is None:
        return None
    rest = template[origin.end():]
    path_part, _, query_part = rest.partition("?")
    query_part = query_part.partition("#")[0]
    path_part = path_part or "/"
    if "{code}" not in path_part and "{code}" not in query_part:
        return None
    try:
        exact = _pattern(path_part.rstrip("/") or "", lower=False)
        lower = _pattern(path_part.rstrip("/") or "", lower=True)
    except (ValueError, re.error):
        return None
    paths = (exact,) if exact.pattern == lower.pattern else (exact, lower)
    query = []
    code_param = None
    for pair in filter(None, query_part.split("&")):
        name, _, value = pair.partition("=")
        if "{" in name or not name:
            return None
        try:
            pattern = re.compile(_regex(value, lower=False))
        except (ValueError, re.error):
            return None
        if "{code}" in value:
            code_param = name
        query.append((name, name.lower(), pattern))
    return PayloadForm(route=rest.partition("#")[0], paths=paths, query=tuple(query),
                       code_param=code_param)


def _pattern(path: str, *, lower: bool) -> re.Pattern[str]:
    return re.compile(_regex(path, lower=lower) + "/?")


def _regex(text: str, *, lower: bool) -> str:
    """Literals escaped (lower-cased when asked), fields as named groups (the code) or
    plain groups."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(text):
        if literal:
            out.append(re.escape(literal.lower() if lower else literal))
        if name is not None:
            if name not in _FIELD:
                raise ValueError(name)
            out.append(f"(?P<code>{_FIELD[name]})" if name == "code" else f"(?:{_FIELD[name]})")
    return "".join(out)
