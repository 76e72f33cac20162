"""The pages' layout and headers: :class:`Pages` renders a template of ``templates/``
(each extends ``base.html``) in the request's language, with the branding, and answers
with the headers every page carries. :meth:`Pages.refusal` is the human page of any
:class:`~loyalcode.errors.LoyalcodeError`, with the status of the API's rule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

from loyalcode.errors import LoyalcodeError
from loyalcode.service.pages.i18n import Messages, catalogue, negotiate
from loyalcode.service.pages.site import SiteSettings
from loyalcode.service.problems import status_of

#: Pages load nothing but this server's stylesheet and images: no script at all, no
#: inline style, no third party; forms post only here; nothing may frame them.
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
#: The colour the packaged stylesheet is written with, replaced by ``[site] primary_color``.
_STYLESHEET_COLOR = "#0b6e4f"


class Pages:
    """Templates, the stylesheet and the logo of one deployment (built at start-up)."""

    def __init__(self, site: SiteSettings, zone: dt.tzinfo) -> None:
        self.site = site
        self.zone = zone
        self.env = Environment(
            loader=PackageLoader(__package__, "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        )
        css = resources.files(__package__).joinpath("static", "site.css").read_text("utf-8")
        self.css = css.replace(_STYLESHEET_COLOR, site.primary_color).encode("utf-8")
        self.assets: dict[str, tuple[bytes, str]] = {
            f"site.{_digest(self.css)}.css": (self.css, "text/css; charset=utf-8")}
        self.css_path = "/assets/" + next(iter(self.assets))
        self.logo_path: str | None = None
        logo = site.logo_file()
        if logo is not None:
            name = f"logo.{_digest(logo[0])}"
            self.assets[name] = logo
            self.logo_path = f"/assets/{name}"

    def messages(self, request: Request) -> Messages:
        return Messages(negotiate(request.headers.get("accept-language")), self.zone)

    def render(self, request: Request, template: str, *, status: int = 200,
               headers: dict[str, str] | None = None, **context: Any) -> Response:
        """``template`` in the request's language, with the page headers."""
        t = self.messages(request)
        html = self.env.get_template(template).render(
            t=t, lang=t.lang, site=self.site, css_path=self.css_path, logo_path=self.logo_path,
            **context)
        return page_response(html, status, t.lang, headers)

    def refusal(self, request: Request, err: LoyalcodeError) -> Response:
        """The human page of a refusal: what happened in plain words, never what was
        scanned or typed."""
        code = err.code if f"{err.code}_title" in catalogue("zh-CN") else "error"
        status = status_of(err)
        headers = None
        minutes = 1
        retry_after = getattr(err, "retry_after", None)
        if isinstance(retry_after, int):
            headers = {"Retry-After": str(retry_after)}
            minutes = max(1, -(-retry_after // 60))
        return self.render(request, "refusal.html", status=status, headers=headers, code=code,
                           minutes=minutes)


def page_response(html: str, status: int, lang: str,
                  headers: dict[str, str] | None = None) -> Response:
    """An HTML page with the headers every page carries (the security middleware adds
    the rest: nosniff, frame denial, no referrer)."""
    return Response(html, status_code=status, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": PAGE_CSP, "Content-Language": lang,
        "Vary": "Accept-Language", "Cache-Control": "no-store", **(headers or {})})


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]
