"""QR payload templates: ``{code}``, ``{serial}``, ``{gtin}``, ``{batch}``.

``{code}`` is the canonical 16-symbol code (no hyphens), ``{serial}`` the visible
serial, ``{gtin}`` the batch's 14-digit GTIN, ``{batch}`` the batch id. A template
must hold ``{code}`` (a payload without it redeems nothing). The default is an
all-uppercase URL, which fits QR alphanumeric mode and a smaller symbol; a batch with
a GTIN can use a GS1 Digital Link such as
``https://lc.example.com/01/{gtin}/21/{serial}?c={code}``.

>>> t = PayloadTemplate.parse("HTTPS://LC.EXAMPLE.COM/C/{code}")
>>> t.render(code="7KX49QPM2HDF8W3T", serial="", gtin=None, batch=1)
'HTTPS://LC.EXAMPLE.COM/C/7KX49QPM2HDF8W3T'
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

from loyalcode.codegen.errors import InvalidTemplate

FIELDS = ("code", "serial", "gtin", "batch")
MAX_TEMPLATE_LENGTH = 500


@dataclass(frozen=True, slots=True)
class PayloadTemplate:
    """A validated template: literal text and field names, in order."""

    text: str
    parts: tuple[tuple[str, str], ...]  # ("lit", text) or ("field", name)

    @classmethod
    def parse(cls, text: str, *, gtin: str | None = None) -> PayloadTemplate:
        """Validate ``text``; ``gtin`` is the batch's (``{gtin}`` needs one)."""
        if not isinstance(text, str) or not text:
            raise InvalidTemplate(value=text, reason="it is empty")
        if len(text) > MAX_TEMPLATE_LENGTH:
            raise InvalidTemplate(value=text[:40] + "…", reason="it is too long")
        if any(ord(c) < 32 or c == '"' for c in text):
            raise InvalidTemplate(value=text, reason="control characters and quotes are not allowed")
        parts: list[tuple[str, str]] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise InvalidTemplate(value=text, reason=str(exc)) from None
        for literal, name, spec, conversion in parsed:
            if literal:
                parts.append(("lit", literal))
            if name is None:
                continue
            if name not in FIELDS or spec or conversion:
                raise InvalidTemplate(
                    value=text, reason=f"unknown field {{{name}}}; use {', '.join('{'+f+'}' for f in FIELDS)}"
                )
            if name == "gtin" and not gtin:
                raise InvalidTemplate(value=text, reason="{gtin} needs a batch with --gtin")
            parts.append(("field", name))
        if ("field", "code") not in parts:
            raise InvalidTemplate(value=text, reason="it must contain {code}")
        template = cls(text=text, parts=tuple(parts))
        template._require_scannable(gtin)
        return template

    def _require_scannable(self, gtin: str | None) -> None:
        """A scan of the payload must give the code back (normalisation reads the ``c``
        query parameter, else the last path segment of a URL, else the whole text);
        otherwise every label printed from it would redeem nothing."""
        from loyalcode.codegen.errors import MalformedCode
        from loyalcode.codegen.normalize import normalize_scan

        sample = "7KX49QPM2HDF8W3T"
        rendered = self.render(code=sample, serial="ABCD2345", gtin=gtin or "09501101020917", batch=1)
        try:
            ok = normalize_scan(rendered) == sample
        except MalformedCode:
            ok = False
        if not ok:
            raise InvalidTemplate(
                value=self.text,
                reason="a scan of it would not give the code back; put {code} in the c query "
                "parameter, as the last path segment of a URL, or alone",
            )

    @property
    def uses_serial(self) -> bool:
        """True when rendering needs the (slower) visible serial."""
        return ("field", "serial") in self.parts

    def render(self, *, code: str, serial: str, gtin: str | None, batch: int) -> str:
        """The payload of one label."""
        values = {"code": code, "serial": serial, "gtin": gtin or "", "batch": str(batch)}
        return "".join(v if kind == "lit" else values[v] for kind, v in self.parts)

    def bind(self, *, gtin: str | None, batch: int) -> tuple[tuple[str, str], ...]:
        """Parts with the per-batch constants filled in: literals, ``code``, ``serial``."""
        out: list[tuple[str, str]] = []
        for kind, v in self.parts:
            if kind == "field" and v in ("gtin", "batch"):
                kind, v = "lit", (gtin or "") if v == "gtin" else str(batch)
            if kind == "lit" and out and out[-1][0] == "lit":
                out[-1] = ("lit", out[-1][1] + v)
            else:
                out.append((kind, v))
        return tuple(out)


def filler(parts: tuple[tuple[str, str], ...]) -> Callable[..., str]:
    """A fast ``fill(code=..., serial=...)`` for parts from :meth:`PayloadTemplate.bind`
    (one ``str.format`` a label: the per-batch constants are already in)."""
    fmt = "".join(
        v.replace("{", "{{").replace("}", "}}") if kind == "lit" else "{" + v + "}"
        for kind, v in parts
    )
    return fmt.format
