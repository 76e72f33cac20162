"""The landing page (what a label's QR code opens) and the manual entry of a code.

``GET <any payload form>`` shows the product and the verdict
(:class:`~loyalcode.redemption.verdict.Verdicts`): genuine and its points; genuine but
not on sale (not activated, outside its window, withdrawn); already redeemed with the
date (the clone warning); or a refusal page (not genuine, typo, unknown, throttled,
database unavailable) that never repeats what was scanned. A GET changes nothing but
the serial's query counter: crediting is a POST of the next pages, so link prefetchers
and chat previews cannot redeem. ``GET /verify`` is the form for a code typed from the
label, ``POST /verify`` its verdict (or the form again with the typo message).

The routes of the payload forms come from the batches' templates
(:mod:`.payloads`), read at start-up and every :data:`REFRESH_SECONDS` after; look-ups
are throttled per client address (the scan's failure counters, ``source`` bucket).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from loyalcode.errors import LoyalcodeError
from loyalcode.redemption.verdict import Verdict, Verdicts
from loyalcode.service.guard import log_facts
from loyalcode.service.logs import ERRORS
from loyalcode.service.pages.forms import check_csrf, csrf_token, read_form, with_csrf_cookie
from loyalcode.service.pages.payloads import PayloadForms
from loyalcode.service.pages.render import Pages
from loyalcode.service.pages.site import SiteSettings
from loyalcode.service.routes.redemptions import forwarded_client

if TYPE_CHECKING:
    from loyalcode.service.app import Service

#: How often each worker reads the batches' payload templates again (a new batch's
#: labels answer within this many seconds).
REFRESH_SECONDS = 10
ENTRY_PATH = "/verify"
#: Refusals the entry form shows beside the field rather than on a page of their own.
_FORM_ERRORS = frozenset({"typo", "malformed"})
_CODE_KEY = "loyalcode.landing_code"
_TEMPLATES = text("SELECT DISTINCT payload_template FROM batches")


@dataclass
class Landing:
    """One worker's pages: the renderer, the verdicts, and the payload forms in use."""

    pages: Pages
    verdicts: Verdicts
    default_template: str
    forms: PayloadForms = field(default_factory=lambda: PayloadForms(()))


def open_landing(service: Service, site: SiteSettings) -> Landing:
    """Build the pages of this worker (in a thread, at start-up)."""
    verdicts = Verdicts(service.context)
    landing = Landing(pages=Pages(site, verdicts.settings.tzinfo()), verdicts=verdicts,
                      default_template=service.context.config.payload_template)
    landing.forms = _load_forms(service, landing)
    return landing


def _load_forms(service: Service, landing: Landing) -> PayloadForms:
    templates = service.read(lambda conn: [r[0] for r in conn.execute(_TEMPLATES)])
    return PayloadForms.build([landing.default_template, *templates])


async def refresh_forever(service: Service, landing: Landing) -> None:
    """Read the payload templates again now and then (new batches, new forms)."""
    while True:
        await anyio.sleep(REFRESH_SECONDS)
        try:
            landing.forms = await service.run(lambda: _load_forms(service, landing))
        except LoyalcodeError as err:  # the database is away: keep the forms known
            ERRORS.warning("payload forms refresh failed", extra={"fields": {"outcome": err.code}})


def client_address(request: Request, service: Service) -> str | None:
    """The consumer's address: the right-most untrusted ``X-Forwarded-For`` hop when
    the peer is one of ``[service] trusted_proxies``, else the peer itself (a phone
    talks to the pages directly or through the deployment's own proxy)."""
    forwarded = forwarded_client(request, service.settings.proxy_networks())
    if forwarded is not None:
        return forwarded
    return request.client.host if request.client else None


def _landing(request: Request) -> Landing:
    landing: Landing = request.app.state.landing
    return landing


async def _verdict(request: Request, scan: str) -> Verdict:
    service = request.app.state.service
    landing = _landing(request)
    source = client_address(request, service)
    facts = log_facts(request.scope)
    try:
        verdict = await service.run(lambda: landing.verdicts.verdict(scan, source=source))
    except LoyalcodeError as err:
        facts["outcome"] = err.code
        raise
    facts["serial"], facts["outcome"] = verdict.serial, verdict.status
    return verdict


def _verdict_page(request: Request, verdict: Verdict, scan: str | None) -> Response:
    """The verdict; a genuine one at a label's URL carries the earn form (posting to
    that URL: the scan is never put in the page)."""
    pages = _landing(request).pages
    t = pages.messages(request)
    status = verdict.status
    if status == "genuine":
        body = t("genuine_body", brand=pages.site.brand_name, points=verdict.points)
    elif status == "already_redeemed":
        assert verdict.redeemed_at is not None
        body = t("already_redeemed_body", date=t.instant(verdict.redeemed_at))
    elif status == "not_yet_valid":
        assert verdict.redeem_from is not None
        body = t("not_yet_valid_body", date=t.date(verdict.redeem_from))
    elif status == "expired":
        body = (t("expired_body", date=t.date(verdict.redeem_until))
                if verdict.redeem_until is not None else t("closed_body"))
    else:
        body = t(f"{status}_body")
    tone = {"genuine": "ok", "already_redeemed": "alert"}.get(status, "note")
    token = csrf_token(request)
    response = pages.render(request, "verdict.html", verdict=verdict, body=body, tone=tone,
                            earn=scan is not None, csrf=token)
    return with_csrf_cookie(response, request, token)


async def landing_page(request: Request) -> Response:
    """The verdict on the code in the URL (never shown back)."""
    code = request.scope[_CODE_KEY]
    try:
        verdict = await _verdict(request, code)
    except LoyalcodeError as err:
        return _landing(request).pages.refusal(request, err)
    return _verdict_page(request, verdict, code)


async def entry_form(request: Request) -> Response:
    """The form for a code typed from the label."""
    return _entry(request, error=None, status=200)


def _entry(request: Request, *, error: str | None, status: int) -> Response:
    token = csrf_token(request)
    response = _landing(request).pages.render(request, "entry.html", status=status,
                                              error=error, csrf=token)
    return with_csrf_cookie(response, request, token)


async def entry_submit(request: Request) -> Response:
    """The verdict on a typed code; a typo or a malformed code shows the form again
    (empty: what was typed is not echoed either)."""
    pages = _landing(request).pages
    try:
        form = await read_form(request)
        check_csrf(request, form)
    except LoyalcodeError as err:
        log_facts(request.scope)["outcome"] = err.code
        return pages.refusal(request, err)
    code = form.get("code", "").strip()
    if not code:
        return _entry(request, error="entry_missing", status=422)
    try:
        verdict = await _verdict(request, code[:200])
    except LoyalcodeError as err:
        if err.code in _FORM_ERRORS:
            return _entry(request, error=f"{err.code}_body", status=422)
        return pages.refusal(request, err)
    return _verdict_page(request, verdict, None)


async def asset(request: Request) -> Response:
    """The stylesheet and the logo, named by their content's hash (cached for a year)."""
    found = _landing(request).pages.assets.get(request.path_params["name"])
    if found is None:
        return Response(status_code=404)
    data, media_type = found
    return Response(data, media_type=media_type,
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})


class _Named:
    """What the access log reads of a matched payload form: its template, never the path."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class PayloadRoute(BaseRoute):
    """Matches a GET or HEAD of any payload form in use (:mod:`.payloads`), and a POST
    (the earning steps, :mod:`.earn`); anything else passes to the routes after it (so
    an unknown path stays a 404 problem)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD", "POST"):
            return Match.NONE, {}
        landing: Landing | None = getattr(scope["app"].state, "landing", None)
        if landing is None:
            return Match.NONE, {}
        found = landing.forms.match(scope["path"], scope.get("query_string", b""))
        if found is None:
            return Match.NONE, {}
        route, code = found
        return Match.FULL, {"route": _Named(route), _CODE_KEY: code, "path_params": {}}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if scope["method"] == "POST":
            # the earning steps (imported here: they use this module's helpers)
            from loyalcode.service.pages.earn import label_post

            response = await label_post(request, scope[_CODE_KEY])
        else:
            response = await landing_page(request)
        await response(scope, receive, send)


def routes() -> list[BaseRoute]:
    """The pages' routes, to mount after every other router (the payload forms last)."""
    return [
        Route(ENTRY_PATH, entry_form, methods=["GET"]),
        Route(ENTRY_PATH, entry_submit, methods=["POST"]),
        Route("/assets/{name}", asset, methods=["GET"]),
        PayloadRoute(),
    ]

