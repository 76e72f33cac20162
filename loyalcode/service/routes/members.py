"""The member centre over HTTP (scope ``members``; forgetting a member: ``admin``).

``GET /v1/members/{id}``, or ``POST /v1/members/search`` with a phone or an external id
in the body (a phone never travels in a URL); ``POST /v1/members/{id}/profile``;
``POST /v1/members/bind`` (phone and external ids, with the identity rules);
``GET /v1/members/{id}/ledger`` (cursor pages); ``POST /v1/members/{id}/forget``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from loyalcode.service.auth import Principal, require
from loyalcode.service.posts import answer
from loyalcode.service.routes.common import (
    After,
    Empty,
    EventRefOut,
    Limit,
    PathId,
    Strict,
    in_path,
    loyalty,
    now,
    problems,
    service_of,
)

router = APIRouter(prefix="/v1", tags=["members"])

Phone = Field(None, min_length=1, max_length=32, description="A phone (China by default).")
ExternalId = Field(None, min_length=1, max_length=128)


class Identity(BaseModel):
    kind: str = Field(description="openid | unionid | shop")
    value: str


class TierOut(BaseModel):
    member: int
    tier: str
    multiplier: float
    earned_in_window: int
    window_days: int
    next_tier: str | None
    points_to_next: int | None


class ProfileOut(BaseModel):
    member: int
    name: str | None
    gender: str | None
    birthday: str | None = Field(description="YYYY-MM-DD")
    city: str | None
    email: str | None
    complete: bool
    missing: list[str]
    completed_at: str | None
    bonus_credited: bool


class LotOut(BaseModel):
    ledger_id: int
    kind: str
    earned_at: str
    amount: int
    remaining: int
    expires_on: str | None = Field(description="A day in the business time zone; null: never.")


class MemberOut(BaseModel):
    """A member as the member centre shows it."""

    id: int
    phone: str | None
    balance: int
    ledger_sum: int = Field(description="Always equal to balance.")
    redemptions: int
    identities: list[Identity]
    created_at: str
    tier: TierOut
    profile: ProfileOut
    lots: list[LotOut] = Field(description="Points still to spend, oldest first.")


class SearchIn(Strict):
    """Exactly one of: a phone, an openid, a unionid, a shop's member id."""

    phone: str | None = Phone
    openid: str | None = ExternalId
    unionid: str | None = ExternalId
    shop: str | None = ExternalId


class BindIn(Strict):
    """A phone and/or external ids for one member (``member``, else the holder of an
    external id or of the phone, else a new member)."""

    member: int | None = Field(None, ge=1, le=2**62, description="The member to bind to.")
    phone: str | None = Phone
    phone_verified: bool = Field(
        False, description="The CRM verified the phone (SMS code, WeChat's phone API).")
    openid: str | None = ExternalId
    unionid: str | None = ExternalId
    shop: str | None = ExternalId


class BindOut(BaseModel):
    member: int
    created: bool
    merged_from: int | None
    events: list[EventRefOut]


class ProfileIn(Strict):
    """Fields to set (absent or null: left as they are)."""

    name: str | None = Field(None, max_length=100)
    gender: str | None = Field(None, max_length=16, description="female, male or other")
    birthday: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    city: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)


class ProfileUpdateOut(ProfileOut):
    bonus: int = Field(description="Points credited now for completing the profile (once).")
    balance: int
    events: list[EventRefOut]


class LedgerLineOut(BaseModel):
    id: int
    delta: int
    kind: str
    reason: str
    redemption_serial: int | None
    created_at: str


class LedgerPage(BaseModel):
    member: int
    entries: list[LedgerLineOut]
    next_after: int = Field(description="Ask with after= this for the next page.")
    has_more: bool


class ForgetOut(BaseModel):
    member: int
    merged: list[int]
    phones: int
    identities: int
    profiles: int
    event_payloads: int
    sources: int
    counters: int
    event: EventRefOut


def _identities(body: SearchIn | BindIn) -> dict[str, str]:
    found = {"openid": body.openid, "unionid": body.unionid, "shop": body.shop}
    return {k: v for k, v in found.items() if v is not None}


def _overview(service: Any, conn: Any, member: int) -> dict[str, Any]:
    from loyalcode.loyalty.overview import member_overview

    settings, tz = loyalty(service)
    return member_overview(conn, member, settings, tz, now()).to_dict()


@router.get("/members/{member_id}", response_model=MemberOut, summary="A member",
            responses=problems(404))
async def get_member(member_id: PathId, request: Request,
                     _: Principal = Depends(require("members"))) -> JSONResponse:
    """Balance, tier, profile, identities and points lots (merges followed: a merged
    member's id shows the member it joined)."""
    service = service_of(request)
    body = await service.run(lambda: in_path(
        "member_not_found", lambda: service.read(lambda conn: _overview(service, conn, member_id))))
    return JSONResponse(body)


@router.post("/members/search", response_model=MemberOut, summary="Find a member",
             responses=problems())
async def search_member(body: SearchIn, request: Request,
                        principal: Principal = Depends(require("members"))) -> Response:
    """The member holding a phone or an external id (422 ``member_not_found``)."""
    from loyalcode.loyalty import members
    from loyalcode.loyalty.phones import PhonePolicy

    service = service_of(request)

    def find(conn: Any) -> dict[str, Any]:
        member = members.find_member(conn, phone=body.phone, identities=_identities(body),
                                     phones=PhonePolicy.from_config(service.context.config))
        return _overview(service, conn, member)

    # a read: a retry recomputes it, and the answer (it holds the phone) is never stored
    return await answer(request, principal, lambda: (200, service.read(find)), keep_body=False)


@router.post("/members/bind", response_model=BindOut, summary="Bind a phone or external ids",
             responses={**problems(409),
                        201: {"model": BindOut, "description": "A member was created."}})
async def bind_member(body: BindIn, request: Request,
                      principal: Principal = Depends(require("members"))) -> Response:
    """Bind a phone and/or external ids to one member (201 when a member was created).
    A phone another member holds merges the two; an external id of a member who has a
    phone is 409 ``identity_in_use``."""
    from loyalcode.events.settings import EventSettings
    from loyalcode.loyalty import members
    from loyalcode.loyalty.phones import PhonePolicy

    service = service_of(request)
    config = service.context.config
    options: dict[str, Any] = {}
    # The one place the caller's word that the phone was verified is passed on.
    options["phone_verified"] = body.phone_verified

    def bind() -> tuple[int, dict[str, Any]]:
        result = service.write(lambda conn: members.bind(
            conn, now=now(), phone=body.phone, member_id=body.member,
            identities=_identities(body), phones=PhonePolicy.from_config(config),
            include_phone=EventSettings.from_config(config).include_phone, **options))
        return (201 if result.created else 200), result.to_dict()

    return await answer(request, principal, bind)


@router.post("/members/{member_id}/profile", response_model=ProfileUpdateOut,
             summary="Update a member's profile", responses=problems(404))
async def update_profile(member_id: PathId, body: ProfileIn, request: Request,
                         principal: Principal = Depends(require("members"))) -> Response:
    """Set profile fields (the member must have a phone: 422 ``phone_required``);
    completing it the first time credits the bonus once."""
    from loyalcode.loyalty.profile import update_profile as update

    service = service_of(request)
    settings, _ = loyalty(service)

    def work() -> tuple[int, dict[str, Any]]:
        result = in_path("member_not_found", lambda: service.write(lambda conn: update(
            conn, member_id, settings, now(), **body.model_dump())))
        return 200, result.to_dict()

    return await answer(request, principal, work)


@router.get("/members/{member_id}/ledger", response_model=LedgerPage,
            summary="A member's points ledger", responses=problems(404))
async def member_ledger(member_id: PathId, request: Request, after: After = 0, limit: Limit = 100,
                        _: Principal = Depends(require("members"))) -> JSONResponse:
    """Ledger entries oldest first, a page at a time (``after``: the last id seen)."""
    from loyalcode.loyalty.members import ledger_page

    service = service_of(request)
    member, lines = await service.run(lambda: in_path("member_not_found", lambda: service.read(
        lambda conn: ledger_page(conn, member_id, after=after, limit=limit))))
    return JSONResponse({"member": member, "entries": [line.to_dict() for line in lines],
                         "next_after": lines[-1].id if lines else after,
                         "has_more": len(lines) == limit})


@router.post("/members/{member_id}/forget", response_model=ForgetOut,
             summary="Forget a member (erase personal data)", responses=problems(404))
async def forget_member(member_id: PathId, body: Empty, request: Request,
                        principal: Principal = Depends(require("admin"))) -> Response:
    """``member forget``: erase the member's phone, external ids, profile, event
    payloads' personal data and sources, and those of the members merged into it;
    points, ledger and redemptions stay under the member id. Scope ``admin``."""
    from loyalcode.loyalty.erasure import forget_member as forget

    service = service_of(request)

    def work() -> tuple[int, dict[str, Any]]:
        erased = in_path("member_not_found", lambda: service.write(
            lambda conn: forget(conn, member_id, service.keyring, now())))
        return 200, erased.to_dict()

    return await answer(request, principal, work)
