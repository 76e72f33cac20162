"""Earning on the page: the consent to the privacy notice, the phone proven by an SMS
code, a session, and the one-tap POST that redeems the scanned code.

The genuine verdict page carries a form that POSTs to the label's own URL (so the
scan stays in the URL: never in the page, a form field or the log), with a CSRF token
and a hidden ``step``. Without a session that knows the member, the tap shows the
privacy notice (``step=consent`` records its version and time on a new session), then
the phone form (``step=phone`` sends a 6-digit code through ``[sms]``), then the code
form (``step=code``); a right code binds the member to the session, and the page
offers the tap that earns (``step=earn``). ``POST /signin`` takes the same steps
without a scan (from ``GET /me``). The session cookie (``lc_session``: random,
``Secure; HttpOnly; SameSite=Lax``, 30 days) makes the next scan one tap, no SMS;
``POST /logout`` ends it. Neither the phone, the one-time code nor the scan is logged:
the access log has the route and the outcome only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from loyalcode.errors import LoyalcodeError
from loyalcode.loyalty import verification as v
from loyalcode.loyalty.erasure import forget_member
from loyalcode.loyalty.members import MemberInfo, member_info
from loyalcode.loyalty.phones import PhonePolicy
from loyalcode.loyalty.points import add_months
from loyalcode.loyalty.settings import LoyaltySettings
from loyalcode.loyalty.sms import SmsSettings, send_code
from loyalcode.loyalty.tiers import TierStatus, tier_status
from loyalcode.service.guard import log_facts
from loyalcode.service.pages.forms import check_csrf, csrf_token, read_form, with_csrf_cookie
from loyalcode.service.pages.landing import Landing, client_address
from loyalcode.store.config import Config
from loyalcode.store.timeutil import business_date, now_utc

if TYPE_CHECKING:
    from loyalcode.service.app import Service

SESSION_COOKIE = "lc_session"
SIGNIN_PATH = "/signin"
LOGOUT_PATH = "/logout"
ME_PATH = "/me"
ERASE_PATH = "/me/erase"
#: The default privacy notice (``[site] privacy_notice`` replaces it; bump
#: ``privacy_version`` when the text changes).
DEFAULT_NOTICE_KEY = "privacy_default"


@dataclass(frozen=True, slots=True)
class EarnSettings:
    sms: SmsSettings
    phones: PhonePolicy
    loyalty: LoyaltySettings


def earn_settings(config: Config) -> EarnSettings:
    """``[sms]`` and the phone policy (read at start-up: a bad table stops the server)."""
    return EarnSettings(sms=SmsSettings.from_config(config), phones=PhonePolicy.from_config(config),
                        loyalty=LoyaltySettings.from_config(config))


def _landing(request: Request) -> Landing:
    landing: Landing = request.app.state.landing
    return landing


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _page(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    token = csrf_token(request)
    response = _landing(request).pages.render(request, template, status=status, csrf=token,
                                              **context)
    return with_csrf_cookie(response, request, token)


def _set_session(response: Response, token: str) -> Response:
    response.set_cookie(SESSION_COOKIE, token, max_age=v.SESSION_DAYS * 86400, httponly=True,
                        secure=True, samesite="lax", path="/")
    return response


async def _form(request: Request) -> dict[str, str]:
    form = await read_form(request)
    check_csrf(request, form)
    return form


async def _session(request: Request) -> v.PageSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await _service(request).run(
        lambda: _service(request).read(lambda conn: v.find_session(conn, token, now_utc())))


def _refused(request: Request, err: LoyalcodeError) -> Response:
    log_facts(request.scope)["outcome"] = err.code
    return _landing(request).pages.refusal(request, err)


async def label_post(request: Request, scan: str) -> Response:
    """A POST to a label's own URL (the scan stays in the URL, never in the page or a
    form field): the step its hidden ``step`` field names."""
    return await _step(request, scan)


async def signin(request: Request) -> Response:
    """The same steps without a scan (from the member page)."""
    return await _step(request, "")


async def _step(request: Request, scan: str) -> Response:
    try:
        form = await _form(request)
    except LoyalcodeError as err:
        return _refused(request, err)
    step = form.get("step", "earn")
    action = None if scan else SIGNIN_PATH
    if step == "consent":
        return await _consent(request, form, action)
    if step == "phone":
        return await _phone(request, form, action)
    if step == "code":
        return await _code(request, form, action)
    return await _earn(request, scan, action)


async def _earn(request: Request, scan: str, action: str | None) -> Response:
    """The tap: redeem the scan for the session's member, or the next step to get one."""
    session = await _session(request)
    if session is None or session.consent_version is None:
        return _consent_page(request, action)
    if session.member_id is None or session.phone is None:
        return _page(request, "phone.html", action=action, error=None)
    if not scan:
        return RedirectResponse(ME_PATH, status_code=303)
    service = _service(request)
    source = client_address(request, service)
    facts = log_facts(request.scope)
    phone = session.phone
    try:
        result = await service.run(lambda: service.redeemer.redeem(
            scan, phone=phone, source=source, phone_verified=True))
    except LoyalcodeError as err:
        facts["outcome"] = err.code
        return _page(request, "earned.html", status=422, result=None, refusal=err.code)
    facts["serial"], facts["outcome"] = result.serial, "credited"
    return _page(request, "earned.html", result=result, refusal=None)


def _consent_page(request: Request, action: str | None) -> Response:
    site = _landing(request).pages.site
    return _page(request, "consent.html", action=action, notice=site.privacy_notice,
                 version=site.privacy_version)


async def _consent(request: Request, form: dict[str, str], action: str | None) -> Response:
    """Record the consent (version and time) on a session, then ask for the phone."""
    if form.get("agree") != "yes":
        return _consent_page(request, action)
    service = _service(request)
    version = _landing(request).pages.site.privacy_version
    token = request.cookies.get(SESSION_COOKIE)

    def record(conn: Connection) -> str:
        now = now_utc()
        live = token if token and v.find_session(conn, token, now) else None
        fresh = live or v.open_session(conn, now)
        v.record_consent(conn, fresh, version, now)
        return fresh

    fresh = await service.run(lambda: service.write(record))
    log_facts(request.scope)["outcome"] = "consented"
    return _set_session(_page(request, "phone.html", action=action, error=None), fresh)


async def _phone(request: Request, form: dict[str, str], action: str | None) -> Response:
    """Send a code to the posted phone; the code form next."""
    token = request.cookies.get(SESSION_COOKIE, "")
    service = _service(request)
    settings: EarnSettings = request.app.state.earn
    address = client_address(request, service)
    typed = form.get("phone", "").strip()[:40]
    if not typed:
        return _page(request, "phone.html", status=422, action=action, error="phone_missing")
    try:
        challenge = await service.run(lambda: service.write(
            lambda conn: v.start_challenge(conn, token, typed, address, now_utc(),
                                           settings.phones)))
        await service.run(lambda: send_code(settings.sms, challenge.phone, challenge.code))
    except LoyalcodeError as err:
        log_facts(request.scope)["outcome"] = err.code
        if err.code == "consent_required":
            return _consent_page(request, action)
        if err.code in ("invalid_phone", "invalid_input"):
            return _page(request, "phone.html", status=422, action=action, error="phone_invalid")
        return _refused(request, err)
    log_facts(request.scope)["outcome"] = "code_sent"
    return _page(request, "code.html", action=action, challenge=challenge.id, error=None,
                 left=None)


async def _code(request: Request, form: dict[str, str], action: str | None) -> Response:
    """Check the typed code; right: the session knows the member, the tap is offered."""
    token = request.cookies.get(SESSION_COOKIE, "")
    service = _service(request)
    try:
        challenge = int(form.get("challenge", "0")[:12] or "0")
    except ValueError:
        challenge = 0
    code = form.get("code", "")[:20]
    outcome: int | LoyalcodeError
    try:
        outcome = await service.run(lambda: service.write(
            lambda conn: v.attempt_code(conn, token, challenge, code, now_utc())))
    except LoyalcodeError as err:
        outcome = err
    facts = log_facts(request.scope)
    if isinstance(outcome, LoyalcodeError):
        facts["outcome"] = outcome.code
        if isinstance(outcome, v.CodeWrong):
            return _page(request, "code.html", status=422, action=action, challenge=challenge,
                         error="code_wrong", left=outcome.facts.get("left"))
        if outcome.code in ("sms_code_locked", "sms_code_expired"):
            return _page(request, "phone.html", status=422, action=action, error=outcome.code)
        return _refused(request, outcome)
    facts["outcome"] = "verified"
    return _page(request, "verified.html", action=action)


async def logout(request: Request) -> Response:
    try:
        await _form(request)
    except LoyalcodeError as err:
        return _refused(request, err)
    token = request.cookies.get(SESSION_COOKIE)
    service = _service(request)
    if token:
        await service.run(lambda: service.write(lambda conn: v.end_session(conn, token)))
    response = _page(request, "logged_out.html")
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


async def me(request: Request) -> Response:
    """The member's balance and recent points (the member centre's first page)."""
    session = await _session(request)
    if session is None or session.member_id is None:
        return _consent_page(request, SIGNIN_PATH)
    service = _service(request)
    member_id = session.member_id
    settings: EarnSettings = request.app.state.earn
    zone = _landing(request).pages.zone

    def read(conn: Connection) -> tuple[MemberInfo, TierStatus]:
        now = now_utc()
        return (member_info(conn, member_id, with_ledger=True),
                tier_status(conn, member_id, settings.loyalty, now))

    info, tier = await service.run(lambda: service.read(read))
    months = settings.loyalty.expiry_months
    # an earned lot expires expiry_months after the business day it was earned
    expiries = {line.id: add_months(business_date(line.created_at, zone), months)
                for line in info.ledger if months and line.kind == "earn" and line.delta > 0}
    return _page(request, "me.html", info=info, tier=tier, expiries=expiries)


async def erase(request: Request) -> Response:
    """Erase the member's own data (``member forget``): ``confirm=yes`` after the
    confirmation page; the session ends with it."""
    try:
        form = await _form(request)
    except LoyalcodeError as err:
        return _refused(request, err)
    session = await _session(request)
    if session is None or session.member_id is None:
        return _consent_page(request, SIGNIN_PATH)
    if form.get("confirm") != "yes":
        return _page(request, "erase.html")
    service = _service(request)
    member_id = session.member_id
    await service.run(lambda: service.write(
        lambda conn: forget_member(conn, member_id, service.keyring, now_utc())))
    log_facts(request.scope)["outcome"] = "erased"
    response = _page(request, "erased.html")
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


def routes() -> list[BaseRoute]:
    return [
        Route(ERASE_PATH, erase, methods=["POST"]),
        Route(SIGNIN_PATH, signin, methods=["POST"]),
        Route(LOGOUT_PATH, logout, methods=["POST"]),
        Route(ME_PATH, me, methods=["GET"]),
    ]
