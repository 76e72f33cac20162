"""``POST /v1/redemptions``: the scan, as ``loyalcode redeem --json`` gives it (scope
``redeem``)."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from loyalcode.service.auth import Principal, require
from loyalcode.service.guard import log_facts
from loyalcode.service.posts import answer
from loyalcode.service.problems import openapi_responses
from loyalcode.service.settings import Network

router = APIRouter(prefix="/v1", tags=["redemptions"])


class RedemptionIn(BaseModel):
    """One scan for a member."""

    model_config = ConfigDict(extra="forbid", strict=True)

    scan: str = Field(min_length=1, max_length=2048,
                      description="The scanned QR payload (a URL) or the typed code.")
    phone: str | None = Field(None, max_length=32,
                              description="The member's phone (China by default).")
    phone_verified: bool = Field(
        False, description="The CRM verified the phone (SMS code, WeChat's phone API).")
    openid: str | None = Field(None, max_length=128, description="The member's WeChat openid.")
    region: str | None = Field(None, max_length=12,
                               description="Where the scan happened (GB/T 2260).")
    source: str | None = Field(
        None, max_length=128,
        description="The consumer's IP or device id as the CRM saw it (the throttle's "
                    "bucket); never the CRM's own address.")
    purchase_channel: str | None = Field(
        None, max_length=64, description="Channel code where the consumer says they bought.")


class EventOut(BaseModel):
    id: int
    type: str


class RedemptionOut(BaseModel):
    """What the redemption did (``redeem --json``)."""

    points: int
    balance: int
    batch: int
    sku: str
    channel: str | None
    diversion: bool
    diversion_reasons: list[str]
    scan_region: str | None
    channel_region: str | None
    purchase_channel: str | None
    member: int
    events: list[EventOut]
    serial: int
    joined: bool


@router.post(
    "/redemptions",
    status_code=201,
    response_model=RedemptionOut,
    summary="Redeem a scan",
    responses=openapi_responses(400, 401, 403, 409, 422, 429, 503),
)
async def create_redemption(
    body: RedemptionIn, request: Request, principal: Principal = Depends(require("redeem"))
) -> Response:
    """Credit the member for one scan, exactly once. A repeat by the same member is 409
    ``already_redeemed`` with ``same_member: true`` (by another: ``false``, a clone
    alert); every other refusal is 422 with its ``code``, a throttle 429."""
    service = request.app.state.service
    source = body.source
    if source is None:
        source = forwarded_client(request, service.settings.proxy_networks())
    facts = log_facts(request.scope)
    options: dict[str, Any] = {}
    # The one place the caller's word that the phone was verified is passed on.
    options["phone_verified"] = body.phone_verified

    def redeem() -> tuple[int, dict[str, Any]]:
        result = service.redeemer.redeem(
            body.scan, phone=body.phone, openid=body.openid, region=body.region,
            source=source, purchase_channel=body.purchase_channel, **options,
        )
        facts["serial"], facts["outcome"] = result.serial, "credited"
        return 201, result.to_dict()

    return await answer(request, principal, redeem)


def forwarded_client(request: Request, trusted: tuple[Network, ...]) -> str | None:
    """The consumer's address from ``X-Forwarded-For`` when the TCP peer is a trusted
    proxy: the right-most address that is not itself a trusted proxy. ``None``
    otherwise (the peer is the CRM's server, shared by every consumer: no bucket)."""
    peer = request.client.host if request.client else None
    header = request.headers.get("x-forwarded-for")
    if not trusted or peer is None or not header or not _within(peer, trusted):
        return None
    for hop in reversed([h.strip() for h in header.split(",")]):
        if not _within(hop, trusted):
            return hop if _is_address(hop) else None
    return None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
