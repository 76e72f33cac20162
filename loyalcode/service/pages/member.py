"""The member centre beyond the balance: the profile form (the ``[loyalty]`` fields;
completing it credits the bonus once), the points mall (order a gift; each refusal in
plain words) and the member's orders. Every page needs the session of a member with
a verified phone (:mod:`.earn`); every POST its CSRF token.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loyalcode.errors import LoyalcodeError
from loyalcode.loyalty.gifts import list_gifts, orders_of, redeem_gift
from loyalcode.loyalty.profile import profile_of, update_profile
from loyalcode.loyalty.settings import PROFILE_FIELDS
from loyalcode.service.guard import log_facts
from loyalcode.service.pages.earn import (
    SIGNIN_PATH,
    EarnSettings,
    _consent_page,
    _form,
    _page,
    _refused,
    _service,
    _session,
)
from loyalcode.store.timeutil import now_utc

PROFILE_PATH = "/me/profile"
MALL_PATH = "/me/mall"
ORDERS_PATH = "/me/orders"


async def _member(request: Request) -> int | None:
    session = await _session(request)
    return session.member_id if session is not None and session.phone is not None else None


def _settings(request: Request) -> EarnSettings:
    settings: EarnSettings = request.app.state.earn
    return settings


async def profile_form(request: Request) -> Response:
    member = await _member(request)
    if member is None:
        return _consent_page(request, SIGNIN_PATH)
    service, loyalty = _service(request), _settings(request).loyalty
    profile = await service.run(lambda: service.read(
        lambda conn: profile_of(conn, member, loyalty)))
    return _page(request, "profile.html", profile=profile, fields=loyalty.profile_fields,
                 bonus=loyalty.profile_bonus, credited=None, error=None)


async def profile_submit(request: Request) -> Response:
    try:
        form = await _form(request)
    except LoyalcodeError as err:
        return _refused(request, err)
    member = await _member(request)
    if member is None:
        return _consent_page(request, SIGNIN_PATH)
    service, loyalty = _service(request), _settings(request).loyalty
    values: dict[str, Any] = {f: (form.get(f, "").strip()[:100] or None)
                              for f in PROFILE_FIELDS if f in loyalty.profile_fields}
    try:
        update = await service.run(lambda: service.write(
            lambda conn: update_profile(conn, member, loyalty, now_utc(), **values)))
    except LoyalcodeError as err:
        log_facts(request.scope)["outcome"] = err.code
        profile = await service.run(lambda: service.read(
            lambda conn: profile_of(conn, member, loyalty)))
        return _page(request, "profile.html", status=422, profile=profile,
                     fields=loyalty.profile_fields, bonus=loyalty.profile_bonus,
                     credited=None, error=err.facts.get("field", "profile"))
    log_facts(request.scope)["outcome"] = "profile_saved"
    return _page(request, "profile.html", profile=update.profile, fields=loyalty.profile_fields,
                 bonus=loyalty.profile_bonus, credited=update, error=None)


async def mall(request: Request) -> Response:
    member = await _member(request)
    if member is None:
        return _consent_page(request, SIGNIN_PATH)
    return await _mall(request, member, ordered=None, refusal=None, status=200)


async def _mall(request: Request, member: int, *, ordered: Any, refusal: str | None,
                status: int) -> Response:
    service = _service(request)

    def read(conn: Connection) -> tuple[int, list[Any]]:
        from loyalcode.loyalty.members import member_info
        return member_info(conn, member).balance, list_gifts(conn, available_at=now_utc())

    balance, gifts = await service.run(lambda: service.read(read))
    return _page(request, "mall.html", status=status, balance=balance, gifts=gifts,
                 ordered=ordered, refusal=refusal)


async def order(request: Request) -> Response:
    try:
        form = await _form(request)
    except LoyalcodeError as err:
        return _refused(request, err)
    member = await _member(request)
    if member is None:
        return _consent_page(request, SIGNIN_PATH)
    service, loyalty = _service(request), _settings(request).loyalty
    try:
        gift = int(form.get("gift", "0")[:12] or "0")
    except ValueError:
        gift = 0
    try:
        result = await service.run(lambda: service.write(
            lambda conn: redeem_gift(conn, member, gift, loyalty, now_utc())))
    except LoyalcodeError as err:
        log_facts(request.scope)["outcome"] = err.code
        return await _mall(request, member, ordered=None, refusal=err.code, status=422)
    log_facts(request.scope)["outcome"] = "ordered"
    return await _mall(request, member, ordered=result, refusal=None, status=200)


async def orders(request: Request) -> Response:
    member = await _member(request)
    if member is None:
        return _consent_page(request, SIGNIN_PATH)
    service = _service(request)
    _, found = await service.run(lambda: service.read(lambda conn: orders_of(conn, member)))
    return _page(request, "orders.html", orders=found)


def routes() -> list[BaseRoute]:
    return [
        Route(PROFILE_PATH, profile_form, methods=["GET"]),
        Route(PROFILE_PATH, profile_submit, methods=["POST"]),
        Route(MALL_PATH, mall, methods=["GET"]),
        Route(MALL_PATH, order, methods=["POST"]),
        Route(ORDERS_PATH, orders, methods=["GET"]),
    ]
